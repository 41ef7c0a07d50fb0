import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { FakeClock } from './testing/fake-clock.ts';
import { Manager } from './manager.ts';

describe('Manager resync', () => {
  const logger = pino({ level: 'silent' });
  it('re-enqueues everything every resync period while leading, and stops when leadership is lost', async () => {
    const clock = new FakeClock();
    let enqueues = 0;
    const m = new Manager({
      logger,
      informers: [],
      controllers: [],
      leaderElection: true,
      onLeading: () => enqueues++,
      resyncPeriodMs: 60_000,
      clock,
    });
    await m.start();
    assert.equal(enqueues, 0, 'nothing before leading');
    m.startControllers();
    assert.equal(enqueues, 1);
    clock.advance(60_000);
    clock.advance(60_000);
    assert.equal(enqueues, 3);
    await m.stopControllers();
    clock.advance(600_000);
    assert.equal(enqueues, 3, 'no resync without leadership');
  });
  it('never resyncs with a period of 0', async () => {
    const clock = new FakeClock();
    let enqueues = 0;
    const m = new Manager({
      logger,
      informers: [],
      controllers: [],
      leaderElection: false,
      onLeading: () => enqueues++,
      resyncPeriodMs: 0,
      clock,
    });
    await m.start();
    clock.advance(3_600_000);
    assert.equal(enqueues, 1);
    assert.equal(clock.pendingTimers(), 0);
  });
});
