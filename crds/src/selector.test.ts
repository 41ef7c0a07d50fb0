import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparePrecedence, matchesSelector, selectingPolicies, type PrecedenceKey } from './selector.ts';
import type { ApiCompliancePolicy, PolicySelector } from './types.ts';

describe('matchesSelector', () => {
  const labels = { app: 'payments', tier: 'api' };
  const cases: [string, PolicySelector, boolean][] = [
    ['an empty selector matches every pod', {}, true],
    ['matchLabels that all match select the pod', { matchLabels: { app: 'payments' } }, true],
    ['one differing label value excludes the pod', { matchLabels: { app: 'payments', tier: 'web' } }, false],
    [
      'In with the value selects',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['api', 'web'] }] },
      true,
    ],
    [
      'In without the value excludes',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] },
      false,
    ],
    [
      'In on a missing label excludes',
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
      false,
    ],
    [
      'NotIn with the value excludes',
      { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['api'] }] },
      false,
    ],
    [
      'NotIn on a missing label selects',
      { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
      true,
    ],
    ['Exists on a present label selects', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    [
      'DoesNotExist on a present label excludes',
      { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
      false,
    ],
    [
      'labels and expressions are ANDed',
      {
        matchLabels: { app: 'payments' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }],
      },
      false,
    ],
  ];
  for (const [name, selector, want] of cases)
    it(name, () => assert.equal(matchesSelector(selector, labels), want));
  const odd: [string, PolicySelector, Record<string, string> | null, boolean][] = [
    [
      'matchLabels ignores labels it does not name',
      { matchLabels: { app: 'a' } },
      { app: 'a', x: 'y' },
      true,
    ],
    [
      'Exists matches a label with an empty value',
      { matchExpressions: [{ key: 'app', operator: 'Exists' }] },
      { app: '' },
      true,
    ],
    [
      'DoesNotExist refuses a label with an empty value',
      { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
      { app: '' },
      false,
    ],
    [
      'Exists on an inherited property name does not match a pod without that label',
      { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] },
      {},
      false,
    ],
    [
      'matchLabels with an undefined value asks nothing',
      { matchLabels: { app: undefined } },
      { app: 'x' },
      true,
    ],
  ];
  for (const [name, selector, l, want] of odd)
    it(name, () => assert.equal(matchesSelector(selector, l), want));
  it('a pod without labels matches only selectors without requirements', () => {
    assert.equal(matchesSelector({}, undefined), true);
    assert.equal(matchesSelector({ matchLabels: { a: 'b' } }, undefined), false);
  });
});

describe('selectingPolicies', () => {
  const policy = (name: string, created: string, app: string): ApiCompliancePolicy => ({
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name, creationTimestamp: created },
    spec: { selector: { matchLabels: { app } }, upstream: { port: 8080 } },
  });
  it('puts the oldest policy first, then orders by name', () => {
    const got = selectingPolicies(
      [
        policy('b', '2026-01-02T00:00:00Z', 'x'),
        policy('c', '2026-01-01T00:00:00Z', 'x'),
        policy('a', '2026-01-02T00:00:00Z', 'x'),
        policy('d', '2026-01-01T00:00:00Z', 'y'),
      ],
      { app: 'x' },
    );
    assert.deepEqual(
      got.map((p) => p.metadata?.name),
      ['c', 'a', 'b'],
    );
  });
});

describe('comparePrecedence', () => {
  const k = (name: string, creationTimestamp?: string): PrecedenceKey => ({ name, creationTimestamp });
  const cases: [string, PrecedenceKey, PrecedenceKey][] = [
    ['the older policy wins', k('b', '2026-01-01T00:00:00Z'), k('a', '2026-01-02T00:00:00Z')],
    ['equal instants fall back to the name', k('a', '2026-01-01T00:00:00Z'), k('b', '2026-01-01T00:00:00Z')],
    [
      'timestamps are compared as instants, not as text',
      k('b', '2026-01-01T09:00:00+10:00'),
      k('a', '2026-01-01T00:00:00Z'),
    ],
    ['fractional seconds count', k('b', '2026-01-01T00:00:00.5Z'), k('a', '2026-01-01T00:00:01Z')],
    ['a stored policy wins over one without a timestamp', k('b', '2026-01-01T00:00:00Z'), k('a')],
    ['an unreadable timestamp counts as none', k('b', '2026-01-01T00:00:00Z'), k('a', 'yesterday')],
    ['two policies without timestamps go by name', k('a'), k('b')],
  ];
  for (const [name, winner, loser] of cases) {
    it(name, () => {
      assert.ok(comparePrecedence(winner, loser) < 0);
      assert.ok(comparePrecedence(loser, winner) > 0);
    });
  }
  it('a policy ties only with itself', () => assert.equal(comparePrecedence(k('a', 'x'), k('a')), 0));
});
