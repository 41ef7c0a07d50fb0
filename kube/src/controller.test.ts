import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { AcpError } from '@acp/crds';
import { KubeError } from './errors.ts';
import { FakeClock } from './testing/fake-clock.ts';
import { Controller } from './controller.ts';
import { createRuntimeMetrics } from './metrics.ts';

const logger = pino({ level: 'silent' });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
/** Lets queued work run to completion (a few event-loop turns). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await tick();
};

function harness(reconcile: (key: string) => { requeueAfterMs?: number } | undefined) {
  const clock = new FakeClock();
  const calls: string[] = [];
  const c = new Controller({
    name: 't',
    logger,
    clock,
    metrics: createRuntimeMetrics(new Registry()),
    workers: 1,
    reconcile: async (key) => {
      calls.push(key);
      await tick();
      return reconcile(key);
    },
  });
  c.start();
  return { c, clock, calls };
}

describe('Controller', () => {
  it('retries a reconcile that hit a 409 conflict, with backoff, until it succeeds', async () => {
    let n = 0;
    const { c, clock, calls } = harness(() => {
      if (n++ < 2) throw new KubeError(409, 'Conflict', 'the object has been modified');
      return undefined;
    });
    c.enqueue('ns/a');
    await settle();
    assert.equal(calls.length, 1);
    clock.advance(60_000);
    await settle();
    clock.advance(60_000);
    await settle();
    assert.equal(calls.length, 3, 'retried until the write went through');
    clock.advance(600_000);
    await settle();
    assert.equal(calls.length, 3, 'no retry after success');
    await c.stop();
  });

  it("waits the apiserver's Retry-After on 429", async () => {
    let n = 0;
    const { c, clock, calls } = harness(() => {
      if (n++ === 0) throw new KubeError(429, 'TooManyRequests', 'slow down', 7000);
      return undefined;
    });
    c.enqueue('ns/a');
    await settle();
    clock.advance(6999);
    await settle();
    assert.equal(calls.length, 1);
    clock.advance(1);
    await settle();
    assert.equal(calls.length, 2);
    await c.stop();
  });

  it('requeues after the time a reconcile asks for', async () => {
    const { c, clock, calls } = harness(() => ({ requeueAfterMs: 30_000 }));
    c.enqueue('ns/a');
    await settle();
    clock.advance(29_999);
    await settle();
    assert.equal(calls.length, 1);
    clock.advance(1);
    await settle();
    assert.equal(calls.length, 2);
    await c.stop();
  });

  it('does not retry a write refused because this replica is not the leader', async () => {
    const { c, clock, calls } = harness(() => {
      throw new AcpError('ACP_ERR_NOT_LEADER', 'not the leader');
    });
    c.enqueue('ns/a');
    await settle();
    clock.advance(600_000);
    await settle();
    assert.equal(calls.length, 1);
    await c.stop();
  });
});
