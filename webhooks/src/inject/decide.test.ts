import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SIDECAR_MARKER } from '@acp/crds';
import { decide, type DecideInput, type PolicyRef } from './decide.ts';
import type { Pod } from './pod.ts';

const policy = (
  name: string,
  created: string,
  matchLabels: Record<string, string> = { app: 'api' },
): PolicyRef => ({
  name,
  creationTimestamp: created,
  selector: { matchLabels },
});

function input(change: (i: DecideInput) => void = () => undefined): DecideInput {
  const pod: Pod = {
    metadata: { name: 'p', labels: { app: 'api' }, annotations: {} },
    spec: { containers: [{ name: 'app', image: 'app:1' }] },
  };
  const i: DecideInput = {
    operation: 'CREATE',
    namespace: 'shop',
    namespaceLabels: { 'acp.dev/injection': 'enabled' },
    pod,
    policies: [policy('api', '2024-01-01T00:00:00Z')],
    excludedNamespaces: new Set(['kube-system', 'kube-node-lease', 'acp-system']),
  };
  change(i);
  return i;
}

const annotate = (i: DecideInput, v: string): void => {
  i.pod.metadata!.annotations = { 'acp.dev/inject': v };
};

describe('decide', () => {
  const skips: [string, (i: DecideInput) => void, string][] = [
    ['an UPDATE is never injected', (i) => (i.operation = 'UPDATE'), 'not_create'],
    [
      'a pod in kube-system is skipped even when the namespace is labelled',
      (i) => (i.namespace = 'kube-system'),
      'system_namespace',
    ],
    ["a pod in the operator's namespace is skipped", (i) => (i.namespace = 'acp-system'), 'system_namespace'],
    [
      'a pod annotated inject "false" is skipped in an opted-in namespace',
      (i) => annotate(i, 'false'),
      'opted_out',
    ],
    ['a pod in a namespace without the label is skipped', (i) => (i.namespaceLabels = {}), 'not_opted_in'],
    [
      'a pod in an unknown namespace is treated as not opted in',
      (i) => (i.namespaceLabels = undefined),
      'not_opted_in',
    ],
    [
      'a namespace label other than "enabled" does not opt in',
      (i) => (i.namespaceLabels = { 'acp.dev/injection': 'disabled' }),
      'not_opted_in',
    ],
    [
      'a pod that already runs the sidecar this webhook injected (marked) is skipped',
      (i) => (i.pod.spec.initContainers = [{ name: 'acp-sidecar', env: [{ ...SIDECAR_MARKER }] }]),
      'already_injected',
    ],
    [
      'a pod whose own init container is named like the sidecar (no mark) is a name conflict',
      (i) => (i.pod.spec.initContainers = [{ name: 'acp-sidecar' }]),
      'sidecar_name_conflict',
    ],
    [
      'a pod whose own container is named like the sidecar is a name conflict',
      (i) => i.pod.spec.containers.push({ name: 'acp-sidecar' }),
      'sidecar_name_conflict',
    ],
    [
      'a marked acp-sidecar among the regular containers is not the injected sidecar',
      (i) => i.pod.spec.containers.push({ name: 'acp-sidecar', env: [{ ...SIDECAR_MARKER }] }),
      'sidecar_name_conflict',
    ],
    [
      'a mirror pod is skipped',
      (i) => (i.pod.metadata!.annotations = { 'kubernetes.io/config.mirror': 'abc' }),
      'mirror_pod',
    ],
    ['a hostNetwork pod is skipped', (i) => (i.pod.spec.hostNetwork = true), 'host_network'],
    [
      "a pod that declares one of the sidecar's ports is skipped",
      (i) => (i.pod.spec.containers[0]!.ports = [{ containerPort: 15001 }]),
      'port_conflict',
    ],
    [
      "a pod with a volume named like the sidecar's is skipped",
      (i) => (i.pod.spec.volumes = [{ name: 'acp-config', emptyDir: {} }]),
      'volume_conflict',
    ],
    [
      "a pod with a volume named like the sidecar's API token mask is skipped",
      (i) => (i.pod.spec.volumes = [{ name: 'acp-no-api-token', emptyDir: {} }]),
      'volume_conflict',
    ],
    [
      'a pod no policy selects is skipped',
      (i) => (i.pod.metadata!.labels = { app: 'other' }),
      'no_matching_policy',
    ],
    [
      'a pod with null labels matches no label selector',
      (i) => (i.pod.metadata!.labels = null),
      'no_matching_policy',
    ],
    ['a namespace without policies injects nothing', (i) => (i.policies = []), 'no_matching_policy'],
    [
      'a system namespace is reported before the opt-out annotation',
      (i) => {
        i.namespace = 'kube-node-lease';
        annotate(i, 'false');
      },
      'system_namespace',
    ],
  ];
  for (const [name, change, reason] of skips) {
    it(name, () => {
      const d = decide(input(change));
      assert.equal(d.inject, false);
      if (!d.inject) {
        assert.equal(d.reason, reason);
        assert.ok(d.message.length > 0);
      }
    });
  }

  it('a pod in an opted-in namespace selected by one policy is injected with it', () => {
    const d = decide(input());
    assert.ok(d.inject);
    assert.equal(d.policy.name, 'api');
    assert.equal(d.matched.length, 1);
  });

  it('the mark on a container with another name does not make the pod count as injected', () => {
    const d = decide(
      input((i) => (i.pod.spec.initContainers = [{ name: 'setup', env: [{ ...SIDECAR_MARKER }] }])),
    );
    assert.equal(d.inject, true);
  });

  it('a pod annotated inject "true" in a namespace without the label is injected', () => {
    const d = decide(input((i) => ((i.namespaceLabels = {}), annotate(i, 'true'))));
    assert.equal(d.inject, true);
  });

  it('an empty selector selects every pod, even one without labels', () => {
    const d = decide(
      input(
        (i) => ((i.policies = [policy('all', '2024-01-01T00:00:00Z', {})]), (i.pod.metadata!.labels = null)),
      ),
    );
    assert.ok(d.inject);
  });

  it('among several matching policies the oldest wins', () => {
    const d = decide(
      input(
        (i) =>
          (i.policies = [policy('young', '2024-03-01T00:00:00Z'), policy('old', '2024-01-01T00:00:00Z')]),
      ),
    );
    assert.ok(d.inject);
    assert.equal(d.policy.name, 'old');
    assert.deepEqual(
      d.matched.map((p) => p.name),
      ['old', 'young'],
    );
  });

  it('among policies of the same age the first name wins', () => {
    const same = '2024-01-01T00:00:00Z';
    const d = decide(input((i) => (i.policies = [policy('b', same), policy('a', same), policy('c', same)])));
    assert.ok(d.inject);
    assert.equal(d.policy.name, 'a');
  });

  it('the winner does not depend on the order of the cache', () => {
    const ps = [
      policy('x', '2024-02-01T00:00:00Z'),
      policy('y', '2024-01-01T00:00:00Z'),
      policy('z', '2024-01-01T00:00:00Z'),
    ];
    const winners = new Set(
      [ps, [...ps].reverse(), [ps[1]!, ps[2]!, ps[0]!]].map((order) => {
        const d = decide(input((i) => (i.policies = order)));
        return d.inject ? d.policy.name : '';
      }),
    );
    assert.deepEqual([...winners], ['y']);
  });

  it('decide does not change its input', () => {
    const i = input(
      (x) => (x.policies = [policy('b', '2024-02-01T00:00:00Z'), policy('a', '2024-01-01T00:00:00Z')]),
    );
    const before = structuredClone({ pod: i.pod, policies: i.policies });
    decide(i);
    assert.deepEqual({ pod: i.pod, policies: i.policies }, before);
  });
});
