import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  conditionsEquivalent,
  findCondition,
  isConditionTrue,
  setCondition,
  type Condition,
} from './conditions.ts';

const t0 = new Date('2026-11-01T10:00:00.000Z');
const t1 = new Date('2026-11-01T11:00:00.000Z');

describe('setCondition', () => {
  it('adds a condition with the current time as lastTransitionTime', () => {
    const list = setCondition([], { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' }, t0);
    assert.equal(list.length, 1);
    assert.equal(list[0]!.lastTransitionTime, '2026-11-01T10:00:00Z');
  });
  it('keeps lastTransitionTime when only the message changes', () => {
    const a = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'one' }, t0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'B', message: 'two' }, t1);
    assert.equal(b[0]!.lastTransitionTime, '2026-11-01T10:00:00Z');
    assert.equal(b[0]!.reason, 'B');
  });
  it('moves lastTransitionTime when the status flips', () => {
    const a = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: '' }, t0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'A', message: '' }, t1);
    assert.equal(b[0]!.lastTransitionTime, '2026-11-01T11:00:00Z');
  });
  it('does not modify the list it was given', () => {
    const a: Condition[] = [];
    setCondition(a, { type: 'Ready', status: 'True', reason: 'R', message: '' }, t0);
    assert.equal(a.length, 0);
  });
  it('keeps other condition types and sorts by type', () => {
    let list = setCondition([], { type: 'Ready', status: 'True', reason: 'R', message: '' }, t0);
    list = setCondition(list, { type: 'Compliant', status: 'False', reason: 'C', message: '' }, t0);
    assert.deepEqual(
      list.map((c) => c.type),
      ['Compliant', 'Ready'],
    );
    assert.equal(isConditionTrue(list, 'Ready'), true);
    assert.equal(isConditionTrue(list, 'Compliant'), false);
    assert.equal(findCondition(list, 'JWKSReady'), undefined);
  });
});

describe('conditionsEquivalent', () => {
  const base = setCondition(
    [],
    { type: 'Ready', status: 'True', reason: 'R', message: 'm', observedGeneration: 1 },
    t0,
  );
  it('ignores timestamps', () => {
    const other = base.map((c) => ({ ...c, lastTransitionTime: '2030-01-01T00:00:00Z' }));
    assert.equal(conditionsEquivalent(base, other), true);
  });
  it('sees a changed observedGeneration', () => {
    const other = base.map((c) => ({ ...c, observedGeneration: 2 }));
    assert.equal(conditionsEquivalent(base, other), false);
  });
  it('sees a missing condition', () => assert.equal(conditionsEquivalent(base, []), false));
});
