import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PendingHandshakes, RefusalLog } from './connection-gate.ts';

describe('PendingHandshakes', () => {
  it('admits up to the maximum per address and refuses the next', () => {
    const p = new PendingHandshakes();
    assert.deepEqual(
      [1, 2, 3].map(() => p.tryAdd('10.0.0.1', 2)),
      [true, true, false],
    );
    assert.equal(p.of('10.0.0.1'), 2);
  });
  it('counts each address on its own', () => {
    const p = new PendingHandshakes();
    p.tryAdd('10.0.0.1', 1);
    assert.equal(p.tryAdd('10.0.0.2', 1), true);
    assert.equal(p.total, 2);
  });
  it('admits again once a handshake of the address is done, and forgets an address with none left', () => {
    const p = new PendingHandshakes();
    p.tryAdd('10.0.0.1', 1);
    p.remove('10.0.0.1');
    assert.equal(p.of('10.0.0.1'), 0);
    assert.equal(p.total, 0);
    assert.equal(p.tryAdd('10.0.0.1', 1), true);
  });
  it('ignores a removal for an address it does not hold', () => {
    const p = new PendingHandshakes();
    p.remove('10.0.0.9');
    assert.equal(p.total, 0);
  });
});

describe('RefusalLog', () => {
  it('logs the first refusal, stays quiet within the interval, then reports how many there were', () => {
    let now = 0;
    const log = new RefusalLog(10_000, () => now);
    const seen: (number | undefined)[] = [];
    seen.push(log.note('ACP_ERR_CONNECTION_LIMIT'));
    for (let i = 0; i < 5; i++) {
      now += 1000;
      seen.push(log.note('ACP_ERR_CONNECTION_LIMIT'));
    }
    now += 10_000;
    seen.push(log.note('ACP_ERR_CONNECTION_LIMIT'));
    assert.deepEqual(seen, [1, undefined, undefined, undefined, undefined, undefined, 6]);
  });
  it('keeps one interval per reason', () => {
    const log = new RefusalLog(10_000, () => 0);
    assert.equal(log.note('ACP_ERR_CONNECTION_LIMIT'), 1);
    assert.equal(log.note('ACP_ERR_HANDSHAKE_LIMIT'), 1);
  });
});
