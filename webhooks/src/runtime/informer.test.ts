import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { FakeClock, silentLogger } from '../testing/fakes.ts';
import { ResilientInformer, type CachingInformer } from './informer.ts';

/** An informer that behaves like client-node's ListWatch: start() resolves even when the list fails. */
function fakeInformer(results: ('ok' | 'fail' | 'throw')[]) {
  const handlers: Record<string, ((e?: unknown) => void)[]> = {};
  let version = '';
  let starts = 0;
  const informer = {
    on(verb: string, cb: (e?: unknown) => void) {
      (handlers[verb] ??= []).push(cb);
    },
    off() {},
    start() {
      const r = results[starts++] ?? 'ok';
      if (r === 'throw') return Promise.reject(new Error('connect ECONNREFUSED'));
      if (r === 'fail') {
        for (const h of handlers['error'] ?? []) h(new Error('list failed: 403'));
      } else {
        version = String(starts);
      }
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
    list: () => [],
    get: () => undefined,
    latestResourceVersion: () => version,
    /** Simulates a watch that dies with a non-410 error after syncing. */
    fail(err: Error) {
      for (const h of handlers['error'] ?? []) h(err);
    },
    get starts() {
      return starts;
    },
  };
  return informer;
}

const settle = () => new Promise((r) => setImmediate(r));

function wrap(
  inner: ReturnType<typeof fakeInformer>,
  clock: FakeClock,
  extra: { onRestart?: (r: string) => void } = {},
) {
  return new ResilientInformer({
    resource: 'things',
    informer: inner as unknown as CachingInformer<KubernetesObject>,
    log: silentLogger(),
    clock,
    initialBackoffMs: 100,
    ...extra,
  });
}

describe('ResilientInformer', () => {
  it('restarts with growing backoff until the first list succeeds, then is synced', async () => {
    const inner = fakeInformer(['fail', 'throw', 'ok']);
    const clock = new FakeClock(new Date());
    const restarts: string[] = [];
    const inf = wrap(inner, clock, { onRestart: (r) => restarts.push(r) });
    inf.start();
    await settle();
    assert.equal(inf.synced, false);
    assert.equal(clock.timers[0]?.at, clock.now().getTime() + 100);
    clock.advance(100);
    await settle();
    assert.equal(inf.synced, false);
    assert.equal(clock.timers[0]?.at, clock.now().getTime() + 200, 'the backoff doubles');
    clock.advance(200);
    await settle();
    assert.equal(inf.synced, true);
    assert.deepEqual(restarts, ['things', 'things']);
    await inf.whenSynced();
  });

  it('restarts a synced informer that stopped on an error, and stays synced meanwhile', async () => {
    const inner = fakeInformer(['ok', 'ok']);
    const clock = new FakeClock(new Date());
    const inf = wrap(inner, clock);
    inf.start();
    await settle();
    assert.equal(inf.synced, true);
    inner.fail(new Error('watch: 500'));
    assert.equal(inf.synced, true);
    clock.advance(100);
    await settle();
    assert.equal(inner.starts, 2);
  });

  it('does not restart after stop()', async () => {
    const inner = fakeInformer(['fail']);
    const clock = new FakeClock(new Date());
    const inf = wrap(inner, clock);
    inf.start();
    await settle();
    await inf.stop();
    clock.advance(60_000);
    await settle();
    assert.equal(inner.starts, 1);
  });
});
