import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasInjectedSidecar, SIDECAR_CONTAINER_NAME, SIDECAR_MARKER } from '@acp/crds';
import type { KubeObject, Pod } from '@acp/kube';
import { isLivePod, serviceAccountOf } from './demand.ts';
import { identityKeyOfPod, podView } from './pod-view.ts';

/** A pod as the apiserver sends it: spec, status and managedFields the operator never reads. */
const fullPod = (
  over: { spec?: Record<string, unknown>; metadata?: Record<string, unknown> } = {},
): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'api-1',
      namespace: 'shop',
      uid: 'u-1',
      resourceVersion: '42',
      labels: { app: 'api' },
      annotations: { 'acp.dev/status': '{"injected":true}' },
      managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }],
      ...over.metadata,
    },
    spec: {
      serviceAccountName: 'api',
      containers: [{ name: 'app', image: 'app:1', env: [{ name: 'A', value: 'b' }] }],
      volumes: [{ name: 'v', emptyDir: {} }],
      ...over.spec,
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], podIP: '10.0.0.1' },
  }) as KubeObject;

const sidecar = { name: SIDECAR_CONTAINER_NAME, image: 'sidecar:1', env: [{ ...SIDECAR_MARKER }] };

describe('podView', () => {
  const cases: { name: string; pod: KubeObject; injected: boolean; sa: string; live: boolean }[] = [
    {
      name: 'keeps the service account, phase and labels of a plain pod',
      pod: fullPod(),
      injected: false,
      sa: 'api',
      live: true,
    },
    {
      name: 'keeps that the webhook injected its sidecar',
      pod: fullPod({ spec: { initContainers: [sidecar] } }),
      injected: true,
      sa: 'api',
      live: true,
    },
    {
      name: 'does not take a pod’s own container named like the sidecar for the injected one',
      pod: fullPod({ spec: { initContainers: [{ name: SIDECAR_CONTAINER_NAME, image: 'mine' }] } }),
      injected: false,
      sa: 'api',
      live: true,
    },
    {
      name: 'keeps the deletion mark, so a terminating pod needs no identity',
      pod: fullPod({ metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } }),
      injected: false,
      sa: 'api',
      live: false,
    },
    {
      name: 'gives a pod without a service account the default one',
      pod: fullPod({ spec: { serviceAccountName: undefined } }),
      injected: false,
      sa: 'default',
      live: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const full = structuredClone(c.pod) as Pod;
      const v = podView(c.pod);
      assert.equal(hasInjectedSidecar(v.spec), hasInjectedSidecar(full.spec));
      assert.equal(hasInjectedSidecar(v.spec), c.injected);
      assert.equal(serviceAccountOf(v), c.sa);
      assert.equal(isLivePod(v), c.live);
      assert.equal(isLivePod(v), isLivePod(full));
      assert.deepEqual(v.metadata.labels, { app: 'api' });
      assert.equal(identityKeyOfPod(v), `shop/${c.sa}`);
      assert.deepEqual(c.pod, full, 'the argument is unchanged');
    });
  }

  it('drops everything else: managedFields, annotations, containers without named ports, volumes, conditions', () => {
    const v = podView(fullPod());
    assert.deepEqual(v, {
      metadata: { name: 'api-1', namespace: 'shop', resourceVersion: '42', labels: { app: 'api' } },
      spec: { serviceAccountName: 'api' },
      status: { phase: 'Running', podIP: '10.0.0.1' },
    });
    assert.ok(JSON.stringify(v).length < JSON.stringify(fullPod()).length / 2);
  });

  it('keeps the pod IP and the named container ports, which the mesh and the evidence verifier read', () => {
    const pod = fullPod({
      spec: {
        containers: [
          {
            name: 'app',
            image: 'app:1',
            ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { containerPort: 9090 }],
          },
          { name: 'metrics', image: 'm:1', ports: [{ containerPort: 9100 }] },
        ],
      },
    });
    const v = podView(pod);
    assert.deepEqual(v.spec?.containers, [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }]);
    assert.equal(v.status?.podIP, '10.0.0.1');
  });
});
