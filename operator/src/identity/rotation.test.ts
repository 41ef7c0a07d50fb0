import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stepRotation, type RotationInput } from './rotation.ts';

const t0 = new Date('2026-11-28T00:00:00Z');
const at = (ms: number): Date => new Date(t0.getTime() + ms);
const base: RotationInput = {
  state: undefined,
  requested: false,
  preparedNext: undefined,
  allBundlesHaveNext: false,
  allLeavesFromNext: false,
  latestOldLeafNotAfter: undefined,
  maxLifetimeMs: 60_000,
  propagationMs: 10_000,
  now: t0,
};

describe('stepRotation', () => {
  it('does nothing until a rotation is requested', () => assert.equal(stepRotation(base).action, 'none'));
  it('prepares a new root first', () =>
    assert.equal(stepRotation({ ...base, requested: true }).action, 'prepare'));
  it('starts propagating once the new root exists', () => {
    const s = stepRotation({ ...base, requested: true, preparedNext: 'NEW' });
    assert.deepEqual(s, {
      action: 'start',
      state: { phase: 'Propagating', next: 'NEW', startedAt: t0.toISOString() },
    });
  });

  const propagating = { phase: 'Propagating' as const, next: 'NEW', startedAt: t0.toISOString() };
  it('waits while some bundle lacks the new root', () => {
    const s = stepRotation({ ...base, state: propagating, preparedNext: 'NEW' });
    assert.equal(s.action, 'none');
  });
  it('notes when every bundle holds the new root', () => {
    const s = stepRotation({
      ...base,
      state: propagating,
      preparedNext: 'NEW',
      allBundlesHaveNext: true,
      now: at(5000),
    });
    assert.equal(s.action, 'advance');
    if (s.action === 'advance') assert.equal(s.state.bundledAt, at(5000).toISOString());
  });
  it('waits the propagation delay after that, and says how long', () => {
    const s = stepRotation({
      ...base,
      state: { ...propagating, bundledAt: at(5000).toISOString() },
      allBundlesHaveNext: true,
      now: at(8000),
    });
    assert.equal(s.action, 'none');
    if (s.action === 'none') assert.equal(s.recheckAfterMs, 7000);
  });
  it('switches issuing to the new CA after the delay, bounding the old leaves by the longest lifetime', () => {
    const s = stepRotation({
      ...base,
      state: { ...propagating, bundledAt: at(5000).toISOString() },
      allBundlesHaveNext: true,
      now: at(15_000),
      latestOldLeafNotAfter: at(30_000),
    });
    assert.equal(s.action, 'advance');
    if (s.action !== 'advance') return;
    assert.equal(s.event, 'Issuing');
    assert.equal(s.state.phase, 'Issuing');
    assert.equal(s.state.oldValidUntil, at(75_000).toISOString());
  });
  it('uses a stored old leaf that outlives the bound', () => {
    const s = stepRotation({
      ...base,
      state: { ...propagating, bundledAt: at(0).toISOString() },
      allBundlesHaveNext: true,
      now: at(15_000),
      latestOldLeafNotAfter: at(500_000),
    });
    if (s.action === 'advance') assert.equal(s.state.oldValidUntil, at(500_000).toISOString());
    else assert.fail(s.action);
  });

  const issuing = {
    phase: 'Issuing' as const,
    next: 'NEW',
    startedAt: t0.toISOString(),
    oldValidUntil: at(75_000).toISOString(),
  };
  it('keeps both roots while leaves are still from the old CA', () =>
    assert.equal(stepRotation({ ...base, state: issuing, now: at(100_000) }).action, 'none'));
  it('keeps both roots while an old leaf can still be valid', () => {
    const s = stepRotation({ ...base, state: issuing, allLeavesFromNext: true, now: at(60_000) });
    assert.equal(s.action, 'none');
    if (s.action === 'none') assert.equal(s.recheckAfterMs, 16_000);
  });
  it('completes when every leaf is from the new CA and no old leaf is valid', () =>
    assert.equal(
      stepRotation({ ...base, state: issuing, allLeavesFromNext: true, now: at(76_000) }).action,
      'complete',
    ));
});
