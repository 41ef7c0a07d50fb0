import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '@acp/kube/testing';
import { rateGate, roundBudgetMs, runBounded } from './bounds.ts';

describe('rateGate', () => {
  it('lets the first connection through at once and spaces the next ones evenly', async () => {
    const clock = new FakeClock();
    const gate = rateGate(10, clock);
    const passed: number[] = [];
    const t0 = clock.now().getTime();
    for (let i = 0; i < 3; i++) void gate().then(() => passed.push(clock.now().getTime() - t0));
    await Promise.resolve();
    assert.deepEqual(passed, [0]);
    clock.advance(100);
    await Promise.resolve();
    assert.deepEqual(passed, [0, 100]);
    clock.advance(100);
    await Promise.resolve();
    assert.deepEqual(passed, [0, 100, 200]);
  });
});

describe('runBounded', () => {
  it('never has more than the bound in flight and keeps results in item order', async () => {
    let inFlight = 0;
    let most = 0;
    const r = await runBounded([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      for (let i = 0; i < n; i++) await Promise.resolve();
      inFlight--;
      return n * 10;
    });
    assert.equal(most, 2);
    assert.deepEqual(r, [50, 10, 40, 20, 30]);
  });
  it('returns nothing for no items', async () =>
    assert.deepEqual(await runBounded([], 4, () => Promise.resolve(1)), []));
});

describe('roundBudgetMs', () => {
  const cases: [
    string,
    number,
    number,
    number,
    { concurrency: number; connectionsPerSecond: number },
    number,
  ][] = [
    [
      'is bound by the rate when connections are fast',
      1000,
      20,
      5,
      { concurrency: 16, connectionsPerSecond: 200 },
      100_000,
    ],
    [
      'is bound by concurrency when connections are slow',
      1000,
      20,
      100,
      { concurrency: 16, connectionsPerSecond: 200 },
      126_000,
    ],
  ];
  for (const [name, workloads, connections, ms, bounds, want] of cases)
    it(name, () => assert.equal(roundBudgetMs(workloads, connections, ms, bounds).roundMs, want));
});
