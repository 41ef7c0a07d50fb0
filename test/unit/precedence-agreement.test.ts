// Property: for the same policies and the same pod, the operator (the
// identity a pod's service account gets, the Conflict verdict of status)
// and the webhook (the policy the sidecar is injected with) pick the same
// winner. Random policy sets from a seeded generator (bounded: a fixed
// number of cases, reproducible from the seed printed on failure), with
// the timestamps that used to split them: equal instants, one instant
// written with an offset, fractional seconds, no timestamp at all.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INJECTION_ENABLED, INJECTION_LABEL } from '@acp/crds';
import { decide } from '../../webhooks/src/inject/decide.ts';
import { toPolicyRef } from '../../webhooks/src/policy/ref.ts';
import { identityDemand } from '../../operator/src/identity/demand.ts';
import type { PolicyObject } from '../../operator/src/identity/workload-controller.ts';
import type { Pod } from '@acp/kube';
import { conflictWinners } from '../../operator/src/reconcile/status.ts';

/** mulberry32: a small seeded PRNG, so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TIMESTAMPS = [
  '2026-01-01T00:00:00Z',
  '2026-01-01T01:00:00+01:00', // the same instant as the first, written with an offset
  '2026-01-01T00:00:00.500Z',
  '2025-12-31T23:59:59Z',
  '2026-01-02T00:00:00Z',
  undefined, // not stored yet (offline, or a fake in a test)
];
const NAMES = ['alpha', 'beta', 'gamma', 'delta', 'Zeta', 'a-b'];
const KEYS = ['app', 'tier'];
const VALUES = ['x', 'y', ''];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

function randomCase(seed: number): { policies: PolicyObject[]; pods: Pod[] } {
  const r = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
  const labels = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const k of KEYS) if (r() < 0.6) out[k] = pick(VALUES);
    return out;
  };
  const names = [...NAMES].sort(() => r() - 0.5).slice(0, 1 + Math.floor(r() * NAMES.length));
  const policies = names.map((name): PolicyObject => {
    const matchExpressions = Array.from({ length: Math.floor(r() * 2) }, () => {
      const operator = pick(OPERATORS);
      const key = pick(KEYS);
      return operator === 'In' || operator === 'NotIn'
        ? { key, operator, values: [pick(VALUES)] }
        : { key, operator };
    });
    const created = pick(TIMESTAMPS);
    return {
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name, namespace: 'shop', ...(created ? { creationTimestamp: created } : {}) },
      spec: {
        selector: { ...(r() < 0.7 ? { matchLabels: labels() } : {}), matchExpressions },
        upstream: { port: 8080 },
      },
    };
  });
  const pods = Array.from({ length: 4 }, (_, i): Pod => ({
    metadata: { name: `pod-${i}`, namespace: 'shop', labels: labels() },
    // One service account per pod: the identity's winner is then the pod's winner.
    spec: { serviceAccountName: `sa-${i}`, containers: [{ name: 'app' }] },
  }));
  return { policies, pods };
}

function webhookWinner(policies: readonly PolicyObject[], pod: Pod): string | undefined {
  const refs = policies.map((p) => toPolicyRef(JSON.parse(JSON.stringify(p)))).filter((p) => p !== undefined);
  const decision = decide({
    operation: 'CREATE',
    namespace: 'shop',
    namespaceLabels: { [INJECTION_LABEL]: INJECTION_ENABLED },
    pod: {
      metadata: { labels: pod.metadata.labels ?? {} },
      spec: { containers: [] },
    },
    policies: refs,
    excludedNamespaces: new Set(),
  });
  return decision.inject ? decision.policy.name : undefined;
}

function operatorWinners(
  policies: readonly PolicyObject[],
  pod: Pod,
): { identity: string | undefined; status: string | undefined } {
  const demand = identityDemand('shop', [pod], policies).get(pod.spec?.serviceAccountName ?? '');
  // The policy whose status claims the pod: it selects it and no other policy governs it instead.
  const claiming = policies.filter(
    (p) =>
      identityDemand('shop', [pod], [p]).size > 0 &&
      ![...conflictWinners(p, policies, [pod]).values()].some((pods) =>
        pods.includes(pod.metadata.name ?? ''),
      ),
  );
  assert.ok(
    claiming.length <= 1,
    `two policies claim ${pod.metadata.name}: ${claiming.map((p) => p.metadata.name).join(', ')}`,
  );
  return { identity: demand?.policies[0], status: claiming[0]?.metadata.name };
}

describe('operator and webhook agree on the policy that governs a pod', () => {
  const CASES = 400;
  it(`picks the same winner in ${CASES} random policy sets`, () => {
    let contested = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const { policies, pods } = randomCase(seed);
      for (const pod of pods) {
        const webhook = webhookWinner(policies, pod);
        const operator = operatorWinners(policies, pod);
        const where = `seed ${seed}, ${pod.metadata.name} ${JSON.stringify(pod.metadata.labels)}, policies ${JSON.stringify(
          policies.map((p) => [p.metadata.name, p.metadata.creationTimestamp, p.spec.selector]),
        )}`;
        assert.equal(operator.identity, webhook, `identity vs injection: ${where}`);
        assert.equal(operator.status, webhook, `status vs injection: ${where}`);
        const selecting = identityDemand('shop', [pod], policies).get(pod.spec?.serviceAccountName ?? '');
        if ((selecting?.policies.length ?? 0) > 1) contested++;
      }
    }
    assert.ok(contested > CASES / 4, `the generator contests enough pods (${contested})`);
  });
});
