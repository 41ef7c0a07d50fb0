import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { SIDECAR_MARKER, type SidecarConfig } from '@acp/crds';
import type { ConfigMap, Informer, Pod } from '@acp/kube';
import { FakeClock } from '@acp/kube/testing';
import { EMPTY_SNAPSHOT } from '../identity/ca-state.ts';
import type { PolicyObject } from '../identity/workload-controller.ts';
import { aPolicy, compiled } from '../testing/builders.ts';
import type { WorkloadTarget } from './probe/workload.ts';
import { EvidenceStore } from './store.ts';
import { createVerifierMetrics, Verifier } from './verifier.ts';

/** An informer over a fixed list (the verifier only lists and gets). */
function fixed<T extends { metadata: { namespace?: string; name?: string } }>(items: T[]): Informer<T> {
  return {
    list: (ns?: string) => items.filter((i) => ns === undefined || i.metadata.namespace === ns),
    get: (ns: string, name: string) =>
      items.find((i) => i.metadata.namespace === ns && i.metadata.name === name),
  } as unknown as Informer<T>;
}

const pod = (name: string, injected: boolean, ip = '198.18.0.9'): Pod => ({
  metadata: { name, namespace: 'shop', labels: { app: 'web' } },
  spec: {
    serviceAccountName: 'web',
    containers: [{ name: 'app' }],
    ...(injected ? { initContainers: [{ name: 'acp-sidecar', env: [SIDECAR_MARKER] }] } : {}),
  },
  status: { phase: 'Running', podIP: ip },
});

async function setup(hash: { value: string }) {
  const policy = aPolicy() as PolicyObject;
  policy.metadata = { name: 'web', namespace: 'shop' };
  policy.spec.selector = { matchLabels: { app: 'web' } };
  const config: SidecarConfig = await compiled(policy);
  const cm = (): ConfigMap => ({
    metadata: {
      name: 'acp-config-web',
      namespace: 'shop',
      annotations: { 'acp.dev/config-hash': hash.value },
    },
    data: { 'sidecar.json': JSON.stringify(config) },
  });
  const clock = new FakeClock('2026-12-05T12:00:00Z');
  const store = new EvidenceStore();
  const probed: WorkloadTarget[] = [];
  const enqueued: string[] = [];
  const configMaps = { list: () => [cm()], get: () => cm() } as unknown as Informer<ConfigMap>;
  const v = new Verifier({
    policies: fixed([policy]),
    pods: fixed([pod('web-1', true), pod('bare-1', false)]),
    configMaps,
    snapshot: () => ({ ...EMPTY_SNAPSHOT, ready: true, signer: {} as never }),
    identity: { current: () => Promise.resolve({ certPem: 'c', keyPem: 'k', caPem: 'a' }) },
    trustDomain: 'cluster.local',
    sidecarVersion: '0.1.0',
    store,
    enqueue: (k) => enqueued.push(k),
    clock,
    logger: pino({ level: 'silent' }),
    metrics: createVerifierMetrics(new Registry()),
    bounds: { concurrency: 2, connectionsPerSecond: 1000 },
    periodMs: 60_000,
    timeoutMs: 1000,
    propagationMs: 30_000,
    fetch,
    probe: (t) => {
      probed.push(t);
      return Promise.resolve({
        pod: t.pod,
        namespace: t.namespace,
        serviceAccount: t.serviceAccount,
        at: clock.now().toISOString(),
        injected: true,
      });
    },
  });
  return { v, store, probed, enqueued, clock };
}

describe('Verifier.round', () => {
  it('probes the injected pods at their IP, records a selected pod without the sidecar as not injected, and enqueues the policy', async () => {
    const { v, store, probed, enqueued } = await setup({ value: 'h1' });
    await v.round();
    assert.deepEqual(
      probed.map((t) => [t.pod, t.host, t.inboundPort, t.adminPort]),
      [['web-1', '198.18.0.9', 8443, 15021]],
    );
    const e = store.get('shop/web');
    assert.deepEqual(
      e?.observations.map((o) => [o.pod, o.injected]),
      [
        ['bare-1', false],
        ['web-1', true],
      ],
    );
    assert.equal(e?.expected.configHash, 'h1');
    assert.equal(e?.expected.spiffeId('web'), 'spiffe://cluster.local/ns/shop/sa/web');
    assert.deepEqual(enqueued, ['shop/web']);
  });

  it('leaves a policy unprobed while its new config propagates, then probes it', async () => {
    const hash = { value: 'h1' };
    const { v, probed, clock } = await setup(hash);
    await v.round();
    hash.value = 'h2';
    clock.advance(1000);
    await v.round();
    assert.equal(probed.length, 1, 'skipped right after the change');
    clock.advance(30_000);
    await v.round();
    assert.equal(probed.length, 2);
  });
});
