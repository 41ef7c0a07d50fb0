import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesSelector } from '@acp/crds';
import { contains, sharedWitness, whyUnsatisfiable, type LabelSelector } from './selector.ts';

const ml = (matchLabels: Record<string, string>): LabelSelector => ({ matchLabels });
const expr = (...matchExpressions: NonNullable<LabelSelector['matchExpressions']>): LabelSelector => ({
  matchExpressions,
});

describe('whyUnsatisfiable', () => {
  const cases: [string, LabelSelector, boolean][] = [
    ['an empty selector can match', {}, false],
    [
      'In and NotIn of the same value cannot match',
      { matchLabels: { app: 'a' }, matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a'] }] },
      true,
    ],
    [
      'Exists and DoesNotExist of one key cannot match',
      expr({ key: 'k', operator: 'Exists' }, { key: 'k', operator: 'DoesNotExist' }),
      true,
    ],
    [
      'matchLabels with DoesNotExist of the same key cannot match',
      { matchLabels: { k: 'v' }, matchExpressions: [{ key: 'k', operator: 'DoesNotExist' }] },
      true,
    ],
    [
      'two disjoint In sets cannot match',
      expr({ key: 'k', operator: 'In', values: ['a'] }, { key: 'k', operator: 'In', values: ['b'] }),
      true,
    ],
    [
      'overlapping In sets can match',
      expr({ key: 'k', operator: 'In', values: ['a', 'b'] }, { key: 'k', operator: 'In', values: ['b'] }),
      false,
    ],
    [
      'NotIn and DoesNotExist together can match',
      expr({ key: 'k', operator: 'NotIn', values: ['a'] }, { key: 'k', operator: 'DoesNotExist' }),
      false,
    ],
  ];
  for (const [name, sel, unsat] of cases)
    it(name, () => assert.equal(whyUnsatisfiable(sel) !== undefined, unsat));
});

describe('contains (outer, inner)', () => {
  const cases: [string, LabelSelector, LabelSelector, boolean][] = [
    ['identical selectors contain each other', ml({ app: 'a' }), ml({ app: 'a' }), true],
    ['the empty selector contains everything', {}, ml({ app: 'a' }), true],
    [
      'a narrower selector does not contain a broader one',
      ml({ app: 'a', tier: 'w' }),
      ml({ app: 'a' }),
      false,
    ],
    ['a broader selector contains a narrower one', ml({ app: 'a' }), ml({ app: 'a', tier: 'w' }), true],
    [
      'matchLabels equals In with one value',
      expr({ key: 'app', operator: 'In', values: ['a'] }),
      ml({ app: 'a' }),
      true,
    ],
    [
      'In [a,b] contains In [a]',
      expr({ key: 'app', operator: 'In', values: ['a', 'b'] }),
      expr({ key: 'app', operator: 'In', values: ['a'] }),
      true,
    ],
    [
      'Exists contains matchLabels of the key',
      expr({ key: 'app', operator: 'Exists' }),
      ml({ app: 'a' }),
      true,
    ],
    [
      'NotIn [b] contains matchLabels a',
      expr({ key: 'app', operator: 'NotIn', values: ['b'] }),
      ml({ app: 'a' }),
      true,
    ],
    [
      'NotIn [a] does not contain Exists',
      expr({ key: 'app', operator: 'NotIn', values: ['a'] }),
      expr({ key: 'app', operator: 'Exists' }),
      false,
    ],
    [
      'an excluding expression breaks containment',
      ml({ app: 'a' }),
      expr({ key: 'tier', operator: 'NotIn', values: ['w'] }),
      false,
    ],
    ['different keys do not contain each other', ml({ app: 'a' }), ml({ tier: 'w' }), false],
    [
      'DoesNotExist contains DoesNotExist',
      expr({ key: 'k', operator: 'DoesNotExist' }),
      expr({ key: 'k', operator: 'DoesNotExist' }),
      true,
    ],
  ];
  for (const [name, outer, inner, want] of cases) it(name, () => assert.equal(contains(outer, inner), want));
});

describe('sharedWitness', () => {
  const cases: [string, LabelSelector, LabelSelector, boolean][] = [
    ['selectors on different keys share a pod', ml({ app: 'a' }), ml({ tier: 'w' }), true],
    ['different values of one key share none', ml({ app: 'a' }), ml({ app: 'b' }), false],
    [
      'In and NotIn of the value share none',
      ml({ app: 'a' }),
      expr({ key: 'app', operator: 'NotIn', values: ['a'] }),
      false,
    ],
    [
      'Exists and NotIn share a third value',
      expr({ key: 'app', operator: 'Exists' }),
      expr({ key: 'app', operator: 'NotIn', values: ['x'] }),
      true,
    ],
  ];
  for (const [name, a, b, shared] of cases) {
    it(name, () => {
      const w = sharedWitness(a, b);
      assert.equal(w !== undefined, shared);
      if (w)
        assert.ok(
          matchesSelector(a, w) && matchesSelector(b, w),
          `witness ${JSON.stringify(w)} matches both`,
        );
    });
  }
});
