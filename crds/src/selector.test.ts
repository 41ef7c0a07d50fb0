import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesSelector, selectingPolicies } from './selector.ts';
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
