import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRateLimiter } from './rate-limiter.ts';

describe('createRateLimiter', () => {
  it('allows a burst and then refuses with the seconds until the next token', () => {
    const rl = createRateLimiter({ requestsPerSecond: 1, burst: 2 });
    assert.deepEqual(rl.take('a', 0), { ok: true });
    assert.deepEqual(rl.take('a', 0), { ok: true });
    assert.deepEqual(rl.take('a', 0), { ok: false, retryAfterSeconds: 1 });
  });
  it('refills at the configured rate', () => {
    const rl = createRateLimiter({ requestsPerSecond: 10, burst: 1 });
    assert.equal(rl.take('a', 0).ok, true);
    assert.equal(rl.take('a', 50).ok, false);
    assert.equal(rl.take('a', 150).ok, true);
  });
  it('keeps one bucket per key', () => {
    const rl = createRateLimiter({ requestsPerSecond: 1, burst: 1 });
    assert.equal(rl.take('a', 0).ok, true);
    assert.equal(rl.take('b', 0).ok, true);
    assert.equal(rl.take('a', 0).ok, false);
  });
  it('drops the oldest key when the key table is full', () => {
    const rl = createRateLimiter({ requestsPerSecond: 1, burst: 1 }, 2);
    rl.take('a', 0);
    rl.take('b', 0);
    rl.take('c', 0);
    assert.equal(rl.size, 2);
    assert.equal(rl.take('a', 0).ok, true, 'a was forgotten, so it starts with a full bucket');
  });
  it('never sends a client back less than a second', () => {
    const rl = createRateLimiter({ requestsPerSecond: 1000, burst: 1 });
    rl.take('a', 0);
    assert.deepEqual(rl.take('a', 0), { ok: false, retryAfterSeconds: 1 });
  });
});
