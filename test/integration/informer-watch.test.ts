// What the informers watch, on the real apiserver: a metadata-only
// informer (PartialObjectMetadata, as the webhook watches namespaces)
// caches labels and nothing of spec or status, on the first list and on
// later watch events; the operator's pod informer (a field selector for
// live pods, podView, the identity index) finds pods by
// namespace/serviceAccount and drops a pod that succeeds, which the
// apiserver sends as DELETED once it no longer matches the selector.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import {
  Informer,
  KubeClient,
  loadConnection,
  RESOURCES,
  systemClock,
  type KubeObject,
  type Namespace,
  type Pod,
} from '@acp/kube';
import {
  IDENTITY_INDEX,
  identityKeyOfPod,
  LIVE_PODS_FIELD_SELECTOR,
  podView,
} from '../../operator/src/identity/pod-view.ts';
import { createNamespace, eventually, useCluster, type TestCluster } from '../src/index.ts';

const logger = pino({ level: 'silent' });

describe('informers watch only what is needed (real apiserver)', () => {
  let cluster: TestCluster;
  let client: KubeClient;
  const stops: (() => void)[] = [];

  before(async () => {
    cluster = await useCluster();
    client = await KubeClient.connect(loadConnection(cluster.kubeconfig, {}), { clock: systemClock });
  });
  after(async () => {
    for (const s of stops) s();
    await client.close();
  });

  it('a metadata-only informer caches labels without spec or status, listed and watched', async () => {
    const ns = await createNamespace(cluster, 'meta-only', { team: 'a' });
    const informer = new Informer<Namespace>({
      client,
      resource: RESOURCES.namespace,
      logger,
      clock: systemClock,
      metadataOnly: true,
    });
    informer.start();
    stops.push(() => informer.stop());
    await informer.synced;
    const listed = informer.get(undefined, ns) as KubeObject & Record<string, unknown>;
    assert.equal(listed.kind, 'PartialObjectMetadata');
    assert.deepEqual(listed.metadata.labels?.['team'], 'a');
    assert.equal(listed['spec'], undefined, 'no spec');
    assert.equal(listed['status'], undefined, 'no status');

    await client.mergePatch(`/api/v1/namespaces/${ns}`, { metadata: { labels: { team: 'b' } } });
    const watched = await eventually('the label change arrives', () => {
      const n = informer.get(undefined, ns) as (KubeObject & Record<string, unknown>) | undefined;
      return Promise.resolve(n?.metadata.labels?.['team'] === 'b' ? n : undefined);
    });
    assert.equal(watched.kind, 'PartialObjectMetadata');
    assert.equal(watched['status'], undefined, 'no status on a watch event either');
  });

  it('the pod informer indexes live pods by identity and drops a pod that succeeds', async () => {
    const ns = await createNamespace(cluster, 'pod-view');
    for (const sa of ['a', 'b'])
      await client.create(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: sa } });
    const pod = (name: string, sa: string): Promise<unknown> =>
      client.create(`/api/v1/namespaces/${ns}/pods`, {
        metadata: { name, labels: { app: 'api' } },
        spec: {
          serviceAccountName: sa,
          automountServiceAccountToken: false,
          containers: [{ name: 'app', image: 'registry.example/app:1' }],
        },
      });
    await pod('a-1', 'a');
    const informer = new Informer<Pod>({
      client,
      resource: RESOURCES.pod,
      namespace: ns,
      logger,
      clock: systemClock,
      fieldSelector: LIVE_PODS_FIELD_SELECTOR,
      transform: podView,
      indexes: { [IDENTITY_INDEX]: (p) => [identityKeyOfPod(p)] },
    });
    informer.start();
    stops.push(() => informer.stop());
    await informer.synced;
    await pod('a-2', 'a');
    await pod('b-1', 'b');
    const names = (sa: string): string[] =>
      informer
        .byIndex(IDENTITY_INDEX, `${ns}/${sa}`)
        .map((p) => p.metadata.name ?? '')
        .sort();
    await eventually('the watched pods are indexed', () =>
      Promise.resolve(names('b').length === 1 && names('a').length === 2 ? true : undefined),
    );
    assert.deepEqual(informer.indexValues(IDENTITY_INDEX).sort(), [`${ns}/a`, `${ns}/b`]);
    const cached = informer.get(ns, 'a-1');
    assert.deepEqual(cached?.spec, { serviceAccountName: 'a' }, 'reduced by podView');
    assert.equal((cached?.metadata as Record<string, unknown> | undefined)?.['managedFields'], undefined);

    await client.mergePatch(`/api/v1/namespaces/${ns}/pods/b-1/status`, { status: { phase: 'Succeeded' } });
    await eventually('the pod that succeeded leaves the cache', () =>
      Promise.resolve(informer.get(ns, 'b-1') === undefined ? true : undefined),
    );
    assert.deepEqual(informer.indexValues(IDENTITY_INDEX), [`${ns}/a`]);
  });
});
