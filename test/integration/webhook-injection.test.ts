// Sidecar injection through the real apiserver: the chart's webhook
// configurations (clientConfig.url on 127.0.0.1, scoped to this file's
// namespaces) call the webhook running in this process with the chart's
// RBAC. Pods are created with the built kubectl and the STORED pods are
// checked: injected, skipped with the reason, untouched where they must
// be; idempotent on re-apply and re-submission; dry-run without side
// effects; admitted under the `restricted` Pod Security Standard; and with
// the webhook stopped, only opted-in pods are refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { createNamespace, kubectl, useCluster, type TestCluster } from '../src/index.ts';
import { eventually, SCOPE_LABEL, webhookFixture, type WebhookFixture } from './support/webhook-fixture.ts';

type Obj = Record<string, any>;

function pod(
  name: string,
  namespace: string,
  extra: { labels?: Obj; annotations?: Obj; spec?: Obj } = {},
): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: extra.labels ?? { app: 'shop' },
      annotations: extra.annotations ?? {},
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'registry.example.com/shop:1',
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
        },
      ],
      ...extra.spec,
    },
  };
}

function policy(name: string, namespace: string, matchLabels: Obj): Obj {
  return {
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name, namespace },
    spec: { selector: { matchLabels }, upstream: { port: 8080 } },
  };
}

describe('sidecar injection webhook on a real apiserver', () => {
  let cluster: TestCluster;
  let fx: WebhookFixture;
  let optedIn: string;
  let plain: string;

  const create = (obj: Obj, ...args: string[]) =>
    kubectl(cluster, ['create', '-f', '-', ...args], stringify(obj));
  const get = async (namespace: string, name: string): Promise<Obj> => {
    const r = await kubectl(cluster, ['get', 'pod', name, '-n', namespace, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const status = (p: Obj): Obj | undefined => {
    const s = p.metadata.annotations?.['acp.dev/status'];
    return s === undefined ? undefined : JSON.parse(s);
  };
  const sidecars = (p: Obj): number =>
    [...(p.spec.initContainers ?? []), ...p.spec.containers].filter((c: Obj) => c.name === 'acp-sidecar')
      .length;

  before(async () => {
    cluster = await useCluster();
    fx = await webhookFixture(cluster);
    optedIn = await createNamespace(cluster, 'wh-optin', fx.labels({ 'acp.dev/injection': 'enabled' }));
    plain = await createNamespace(cluster, 'wh-plain', fx.labels());
    await fx.start();
    for (const [ns, name, labels] of [
      [optedIn, 'shop', { app: 'shop' }],
      [plain, 'shop', { app: 'shop' }],
    ] as const) {
      const r = await create(policy(name, ns, labels));
      assert.equal(r.code, 0, r.stderr);
    }
    await eventually('the policies are in the cache', () =>
      [optedIn, plain].every((ns) => fx.webhook!.view.policiesIn(ns).length === 1),
    );
  });
  after(async () => fx?.cleanup());

  it('stores a pod of an opted-in namespace with the native sidecar, its volumes, proxy env and status', async () => {
    const r = await create(pod('injected', optedIn));
    assert.equal(r.code, 0, r.stderr);
    const p = await get(optedIn, 'injected');
    const sidecar = p.spec.initContainers[0];
    assert.equal(sidecar.name, 'acp-sidecar');
    assert.equal(sidecar.restartPolicy, 'Always');
    assert.equal(sidecar.startupProbe.httpGet.path, '/readyz');
    assert.deepEqual(
      sidecar.ports.map((x: Obj) => [x.name, x.containerPort]),
      [
        ['acp-tls', 8443],
        ['acp-admin', 15021],
      ],
    );
    assert.deepEqual(
      p.spec.volumes.filter((v: Obj) => v.name.startsWith('acp-')).map((v: Obj) => v.name),
      ['acp-identity', 'acp-config', 'acp-no-api-token'],
    );
    const identity = p.spec.volumes.find((v: Obj) => v.name === 'acp-identity');
    assert.equal(identity.projected.sources[0].secret.name, 'acp-identity-default');
    assert.equal(identity.projected.sources[1].configMap.name, 'acp-trust-bundle');
    const env = Object.fromEntries(p.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
    assert.equal(env.HTTP_PROXY, 'http://127.0.0.1:15001');
    assert.equal(
      env.NO_PROXY,
      'localhost,127.0.0.1,::1,$(KUBERNETES_SERVICE_HOST),kubernetes.default,kubernetes.default.svc,kubernetes.default.svc.cluster.local',
    );
    assert.deepEqual(status(p), { policy: 'shop', sidecarVersion: '0.1.0' });
  });

  it('gives the sidecar no API token, so the apiserver calls the webhook once per pod', async () => {
    const calls = async (): Promise<number> => {
      const m = await fx.registry!.getSingleMetric('acp_webhook_admission_duration_seconds')!.get();
      return m.values
        .filter(
          (v) =>
            (v as { metricName?: string }).metricName?.endsWith('_count') && v.labels['webhook'] === 'inject',
        )
        .reduce((sum, v) => sum + v.value, 0);
    };
    const before = await calls();
    assert.equal((await create(pod('once', optedIn))).code, 0);
    assert.equal((await calls()) - before, 1, 'one admission for one pod (no reinvocation)');
    const p = await get(optedIn, 'once');
    const tokenPath = '/var/run/secrets/kubernetes.io/serviceaccount';
    const mountAt = (c: Obj): string | undefined =>
      c.volumeMounts?.find((m: Obj) => m.mountPath === tokenPath)?.name;
    assert.equal(mountAt(p.spec.initContainers[0]), 'acp-no-api-token');
    assert.match(String(mountAt(p.spec.containers[0])), /^kube-api-access-/, 'the app keeps its token');
  });

  it('stores skipped pods with the reason in the status annotation', async () => {
    assert.equal((await create(pod('nobody', optedIn, { labels: { app: 'other' } }))).code, 0);
    assert.equal((await create(pod('hostnet', optedIn, { spec: { hostNetwork: true } }))).code, 0);
    assert.deepEqual(status(await get(optedIn, 'nobody')), { skipReason: 'no_matching_policy' });
    assert.deepEqual(status(await get(optedIn, 'hostnet')), { skipReason: 'host_network' });
    assert.equal(sidecars(await get(optedIn, 'hostnet')), 0);
  });

  it('leaves a pod that opts out untouched (the webhook is not even called)', async () => {
    assert.equal((await create(pod('out', optedIn, { annotations: { 'acp.dev/inject': 'false' } }))).code, 0);
    const p = await get(optedIn, 'out');
    assert.equal(sidecars(p), 0);
    assert.equal(status(p), undefined);
  });

  it('leaves pods of a namespace without the label untouched, but injects one annotated inject "true"', async () => {
    assert.equal((await create(pod('plain', plain))).code, 0);
    assert.equal((await create(pod('asked', plain, { annotations: { 'acp.dev/inject': 'true' } }))).code, 0);
    const untouched = await get(plain, 'plain');
    assert.equal(sidecars(untouched), 0);
    assert.equal(status(untouched), undefined);
    assert.deepEqual(status(await get(plain, 'asked')), { policy: 'shop', sidecarVersion: '0.1.0' });
  });

  it("never touches the operator's own namespace, even labelled (no skip annotation: not even called)", async () => {
    assert.equal((await create(pod('op', fx.operatorNamespace))).code, 0);
    const p = await get(fx.operatorNamespace, 'op');
    assert.equal(sidecars(p), 0);
    assert.equal(status(p), undefined);
  });

  it('is idempotent: kubectl apply twice and re-submitting an injected pod keep one sidecar', async () => {
    const manifest = stringify(pod('applied', optedIn));
    const first = await kubectl(cluster, ['apply', '-f', '-'], manifest);
    assert.equal(first.code, 0, first.stderr);
    const before = await get(optedIn, 'applied');
    const second = await kubectl(cluster, ['apply', '-f', '-'], manifest);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /unchanged/);
    const afterApply = await get(optedIn, 'applied');
    assert.equal(afterApply.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(sidecars(afterApply), 1);

    const copy = structuredClone(before);
    copy.metadata = {
      name: 'resubmitted',
      namespace: optedIn,
      labels: before.metadata.labels,
      annotations: before.metadata.annotations,
    };
    delete copy.status;
    assert.equal((await create(copy)).code, 0);
    const resubmitted = await get(optedIn, 'resubmitted');
    assert.equal(sidecars(resubmitted), 1);
    assert.deepEqual(resubmitted.spec.initContainers, before.spec.initContainers);
    assert.deepEqual(resubmitted.spec.volumes, before.spec.volumes);
  });

  it('answers a dry-run create with the same injection and stores nothing', async () => {
    const r = await create(pod('dry', optedIn), '--dry-run=server', '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    const dry = JSON.parse(r.stdout);
    assert.equal(sidecars(dry), 1);
    const reference = await get(optedIn, 'injected');
    // The ServiceAccount plugin's token volume has a random name per pod: leave it out.
    const ours = (p: Obj): Obj[] =>
      p.spec.initContainers.map((c: Obj) => ({
        ...c,
        volumeMounts: c.volumeMounts.filter((m: Obj) => !m.name.startsWith('kube-api-access-')),
      }));
    assert.deepEqual(ours(dry), ours(reference));
    const missing = await kubectl(cluster, ['get', 'pod', 'dry', '-n', optedIn]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NotFound/);
  });

  it('picks the oldest of several matching policies and says so', async () => {
    const ns = await createNamespace(cluster, 'wh-two', fx.labels({ 'acp.dev/injection': 'enabled' }));
    assert.equal((await create(policy('first', ns, { app: 'shop' }))).code, 0);
    // Not nested (different keys): allowed with a warning, and a pod with both labels matches both.
    await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has second resolution
    const second = await create(policy('second', ns, { tier: 'web' }));
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /overlaps ApiCompliancePolicy "first"/);
    await eventually('both policies are in the cache', () => fx.webhook!.view.policiesIn(ns).length === 2);
    assert.equal((await create(pod('both', ns, { labels: { app: 'shop', tier: 'web' } }))).code, 0);
    assert.deepEqual(status(await get(ns, 'both')), {
      policy: 'first',
      sidecarVersion: '0.1.0',
      matchedPolicies: ['first', 'second'],
      selectedBy: 'oldest-then-name',
    });
  });

  it('injects a pod that the restricted Pod Security Standard then admits', async () => {
    const ns = await createNamespace(
      cluster,
      'wh-restricted',
      fx.labels({ 'acp.dev/injection': 'enabled', 'pod-security.kubernetes.io/enforce': 'restricted' }),
    );
    assert.equal((await create(policy('shop', ns, { app: 'shop' }))).code, 0);
    await eventually('the policy is in the cache', () => fx.webhook!.view.policiesIn(ns).length === 1);
    const r = await create(pod('strict', ns));
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /violate PodSecurity/);
    assert.equal(sidecars(await get(ns, 'strict')), 1);
    // The control: the same namespace refuses a pod that is not restricted.
    const loose = pod('loose', ns);
    loose.spec.containers[0].securityContext = {};
    const refused = await create(loose);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "restricted/);
  });

  it('when the webhook is down, refuses only opted-in pods; system namespaces are never matched', async () => {
    // No controller-manager: kube-system has no default ServiceAccount unless someone makes it.
    await kubectl(cluster, ['create', 'serviceaccount', 'default', '-n', 'kube-system']);
    await kubectl(cluster, [
      'label',
      'namespace',
      'kube-system',
      'acp.dev/injection=enabled',
      `${SCOPE_LABEL}=${fx.scope}`,
      '--overwrite',
    ]);
    await fx.stop();
    try {
      const down = await create(pod('down', optedIn));
      assert.notEqual(down.code, 0, 'an opted-in namespace fails closed');
      assert.match(down.stderr, /failed calling webhook "namespace\.inject\.acp\.dev"/);
      const asked = await create(pod('asked-down', plain, { annotations: { 'acp.dev/inject': 'true' } }));
      assert.notEqual(asked.code, 0, 'a pod that asked for the sidecar is not created without it');
      assert.equal((await create(pod('plain-down', plain))).code, 0, 'other namespaces are not affected');
      assert.equal(
        (await create(pod('out-down', optedIn, { annotations: { 'acp.dev/inject': 'false' } }))).code,
        0,
      );
      // The apiserver's ServiceAccount cache may not have the new account yet: retry on that error only.
      let sys = await create(pod(`acp-test-${fx.scope}`, 'kube-system'));
      await eventually('kube-system/default is known to the ServiceAccount plugin', async () => {
        if (!/serviceaccount "default" not found/.test(sys.stderr)) return true;
        sys = await create(pod(`acp-test-${fx.scope}`, 'kube-system'));
        return false;
      });
      assert.equal(sys.code, 0, `kube-system is never matched: ${sys.stderr}`);
      assert.equal(sidecars(await get('kube-system', `acp-test-${fx.scope}`)), 0);
    } finally {
      await kubectl(cluster, [
        'delete',
        'pod',
        `acp-test-${fx.scope}`,
        '-n',
        'kube-system',
        '--ignore-not-found',
        '--grace-period=0',
      ]);
      await kubectl(cluster, ['label', 'namespace', 'kube-system', 'acp.dev/injection-', `${SCOPE_LABEL}-`]);
      await fx.start();
    }
    const back = await create(pod('back', optedIn));
    assert.equal(back.code, 0, back.stderr);
    assert.equal(sidecars(await get(optedIn, 'back')), 1);
  });
});
