import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './backoff.ts';
import { FakeClock } from './testing/fake-clock.ts';
import { WorkQueue } from './workqueue.ts';

const queue = (random = 0.5): { q: WorkQueue; clock: FakeClock } => {
  const clock = new FakeClock();
  return {
    q: new WorkQueue({ clock, random: () => random, backoff: { baseMs: 100, maxMs: 10_000 } }),
    clock,
  };
};

describe('WorkQueue', () => {
  it('hands out a key added twice only once', async () => {
    const { q } = queue();
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  it('processes a key again when it was added while being processed, but not concurrently', async () => {
    const { q } = queue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    assert.equal(q.length, 0, 'not handed out while processing');
    q.done(key!);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const { q } = queue();
    const waiting = q.get();
    q.add('x');
    assert.equal(await waiting, 'x');
  });

  it('adds a key after the requested delay on the clock', () => {
    const { q, clock } = queue();
    q.addAfter('a', 1000);
    clock.advance(999);
    assert.equal(q.length, 0);
    clock.advance(1);
    assert.equal(q.length, 1);
  });

  it('keeps the earliest of two delayed adds', () => {
    const { q, clock } = queue();
    q.addAfter('a', 5000);
    q.addAfter('a', 1000);
    q.addAfter('a', 3000);
    clock.advance(1000);
    assert.equal(q.length, 1);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('backs off exponentially per key and resets after forget', () => {
    const { q } = queue(0.999999);
    const delays = [1, 2, 3, 4].map(() => q.addRateLimited('a'));
    assert.deepEqual(delays, [100, 200, 400, 800]);
    q.forget('a');
    assert.equal(q.addRateLimited('a'), 100);
    assert.equal(q.addRateLimited('b'), 100, 'keys back off independently');
  });

  it("uses the server's Retry-After instead of the backoff", () => {
    const { q, clock } = queue();
    assert.equal(q.addRateLimited('a', 7000), 7000);
    clock.advance(6999);
    assert.equal(q.length, 0);
    clock.advance(1);
    assert.equal(q.length, 1);
  });

  it('releases waiting workers with undefined on shutdown and drops delayed keys', async () => {
    const { q, clock } = queue();
    q.addAfter('a', 100);
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
    clock.advance(1000);
    assert.equal(q.length, 0);
  });
});

describe('backoffDelay', () => {
  const opts = { baseMs: 200, maxMs: 60_000 };
  const cases: [string, number, number, number][] = [
    ['waits at least half the base on the first retry', 1, 0, 100],
    ['waits at most the base on the first retry', 1, 0.999999, 200],
    ['doubles with every failure', 4, 0.999999, 1600],
    ['never exceeds the maximum', 30, 0.999999, 60_000],
    ['never drops below half the maximum once capped', 30, 0, 30_000],
  ];
  for (const [name, failures, random, want] of cases)
    it(name, () => assert.equal(backoffDelay(failures, opts, random), want));
});
