// Table tests of the mesh directory: which Service ports are meshed, the
// names, address and identities of an entry, what one caller may reach,
// the companion Service, and what pod churn changes (nothing, while the
// service accounts stay the same). Also prints the directory's size at
// 1,000 meshed Services (a measurement, not an assertion on timing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiCompliancePolicy } from '@acp/crds';
import type { Pod, Service } from '@acp/kube';
import { compileSidecarConfig } from '../policy/compile.ts';
import { aPolicy, withEgress } from '../testing/builders.ts';
import { companionFor, companionServiceName, companionUpToDate } from './companion.ts';
import {
  compileDirectory,
  directoryFor,
  meshEntry,
  SERVICE_ACCOUNTS_ANNOTATION,
  type MeshEntry,
} from './directory.ts';

const TD = 'cluster.local';

function aService(
  name: string,
  ns = 'shop',
  extra: Partial<NonNullable<Service['spec']>> = {},
  annotations?: Record<string, string>,
): Service {
  return {
    metadata: { name, namespace: ns, uid: `uid-${name}`, ...(annotations ? { annotations } : {}) },
    spec: {
      selector: { app: name },
      clusterIP: '198.19.0.10',
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      ...extra,
    },
  };
}

function aPod(name: string, app: string, sa: string, ns = 'shop', extra: Partial<Pod> = {}): Pod {
  return {
    metadata: { name, namespace: ns, labels: { app } },
    spec: {
      serviceAccountName: sa,
      containers: [{ name: 'app', ports: [{ name: 'web', containerPort: 8080 }] }],
    },
    status: { phase: 'Running' },
    ...extra,
  };
}

/** The policy that governs app=<app> pods, forwarding to port 8080. */
function governing(app: string, ns = 'shop'): ApiCompliancePolicy {
  const p = aPolicy();
  p.metadata = { name: `p-${app}`, namespace: ns, creationTimestamp: '2026-01-01T00:00:00Z' };
  p.spec.selector = { matchLabels: { app } };
  return p;
}

const world = (pods: Pod[], policies: ApiCompliancePolicy[]) => ({
  pods: (ns: string) => pods.filter((p) => p.metadata.namespace === ns),
  policies: (ns: string) => policies.filter((p) => p.metadata?.namespace === ns),
  trustDomain: TD,
  clusterDomain: 'cluster.local',
});

const entryCases: {
  name: string;
  svc: Service;
  pods: Pod[];
  policies: ApiCompliancePolicy[];
  want: Partial<MeshEntry> | null;
}[] = [
  {
    name: 'a Service whose target port is the governing policy upstream port is meshed on its own port',
    svc: aService('payments'),
    pods: [aPod('p1', 'payments', 'payments')],
    policies: [governing('payments')],
    want: {
      ports: [80],
      names: ['payments.shop', 'payments.shop.svc', 'payments.shop.svc.cluster.local', '198.19.0.10'],
      identities: ['spiffe://cluster.local/ns/shop/sa/payments'],
      port: 8443,
      address: '198.19.0.99',
    },
  },
  {
    name: 'a named target port is resolved against the pods container ports',
    svc: aService('payments', 'shop', { ports: [{ port: 8080, targetPort: 'web' }] }),
    pods: [aPod('p1', 'payments', 'payments')],
    policies: [governing('payments')],
    want: { ports: [8080] },
  },
  {
    name: 'a port that targets another container port is not meshed',
    svc: aService('payments', 'shop', {
      ports: [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'metrics', port: 9090, targetPort: 9090 },
      ],
    }),
    pods: [aPod('p1', 'payments', 'payments')],
    policies: [governing('payments')],
    want: { ports: [80] },
  },
  {
    name: 'a Service whose pods no policy governs is not meshed',
    svc: aService('payments'),
    pods: [aPod('p1', 'payments', 'payments')],
    policies: [governing('other')],
    want: null,
  },
  {
    name: 'a Service without pods is not meshed',
    svc: aService('payments'),
    pods: [],
    policies: [governing('payments')],
    want: null,
  },
  {
    name: 'a headless Service is not meshed',
    svc: aService('payments', 'shop', { clusterIP: 'None' }),
    pods: [aPod('p1', 'payments', 'payments')],
    policies: [governing('payments')],
    want: null,
  },
  {
    name: 'a Service without a selector is not meshed',
    svc: {
      metadata: { name: 'ext', namespace: 'shop' },
      spec: { clusterIP: '198.19.0.11', ports: [{ port: 80 }] },
    },
    pods: [aPod('p1', 'payments', 'payments')],
    policies: [governing('payments')],
    want: null,
  },
  {
    name: 'the identities are every service account of the governed pods, sorted and unique',
    svc: aService('payments'),
    pods: [aPod('p1', 'payments', 'zeta'), aPod('p2', 'payments', 'alpha'), aPod('p3', 'payments', 'zeta')],
    policies: [governing('payments')],
    want: {
      identities: ['spiffe://cluster.local/ns/shop/sa/alpha', 'spiffe://cluster.local/ns/shop/sa/zeta'],
    },
  },
  {
    name: 'a pinned service account list wins over what the pods run (an impostor pod is not named)',
    svc: aService('payments', 'shop', {}, { [SERVICE_ACCOUNTS_ANNOTATION]: 'payments' }),
    pods: [aPod('p1', 'payments', 'payments'), aPod('evil', 'payments', 'impostor')],
    policies: [governing('payments')],
    want: { identities: ['spiffe://cluster.local/ns/shop/sa/payments'] },
  },
  {
    name: 'finished and terminating pods do not count',
    svc: aService('payments'),
    pods: [
      aPod('p1', 'payments', 'payments'),
      aPod('done', 'payments', 'old', 'shop', { status: { phase: 'Succeeded' } }),
      {
        ...aPod('going', 'payments', 'older'),
        metadata: {
          name: 'going',
          namespace: 'shop',
          labels: { app: 'payments' },
          deletionTimestamp: '2026-01-01T00:00:00Z',
        },
      },
    ],
    policies: [governing('payments')],
    want: { identities: ['spiffe://cluster.local/ns/shop/sa/payments'] },
  },
];

for (const c of entryCases) {
  test(c.name, () => {
    const got = meshEntry(c.svc, world(c.pods, c.policies), '198.19.0.99');
    if (c.want === null) return assert.equal(got, null);
    assert.ok(got);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k as keyof MeshEntry], v, k);
  });
}

test('the directory reads the address from the companion Service ClusterIP, and is empty of companions', () => {
  const svc = aService('payments');
  const companion = { ...companionFor(svc), spec: { ...companionFor(svc).spec, clusterIP: '198.19.0.77' } };
  const dir = compileDirectory({
    services: [svc, companion],
    ...world([aPod('p1', 'payments', 'payments')], [governing('payments')]),
  });
  assert.equal(dir.length, 1);
  assert.equal(dir[0]?.address, '198.19.0.77');
});

test('an entry whose companion has no ClusterIP yet has an empty address', () => {
  const dir = compileDirectory({
    services: [aService('payments')],
    ...world([aPod('p1', 'payments', 'payments')], [governing('payments')]),
  });
  assert.equal(dir[0]?.address, '');
});

const DIR: MeshEntry[] = [
  {
    namespace: 'bank',
    name: 'ledger',
    names: ['ledger.bank', 'ledger.bank.svc', 'ledger.bank.svc.cluster.local'],
    ports: [80, 81],
    address: '198.19.0.2',
    port: 8443,
    identities: ['spiffe://cluster.local/ns/bank/sa/ledger'],
  },
  {
    namespace: 'shop',
    name: 'payments',
    names: ['payments.shop', 'payments.shop.svc', 'payments.shop.svc.cluster.local'],
    ports: [8080],
    address: '198.19.0.1',
    port: 8443,
    identities: ['spiffe://cluster.local/ns/shop/sa/payments'],
  },
];

const reachCases: {
  name: string;
  egress: NonNullable<ApiCompliancePolicy['spec']['egress']>;
  want: { service: string; ports: number[]; identities?: number }[];
}[] = [
  {
    name: 'egress default Allow reaches the whole directory',
    egress: { default: 'Allow', allow: [] },
    want: [
      { service: 'bank/ledger', ports: [80, 81] },
      { service: 'shop/payments', ports: [8080] },
    ],
  },
  {
    name: 'egress default Deny with nothing allowed reaches nothing',
    egress: { default: 'Deny', allow: [] },
    want: [],
  },
  {
    name: 'a service entry without namespace names a Service of the caller namespace',
    egress: { default: 'Deny', allow: [{ service: 'payments' }] },
    want: [{ service: 'shop/payments', ports: [8080] }],
  },
  {
    name: 'a service entry with a port reaches only that port',
    egress: { default: 'Deny', allow: [{ service: 'ledger', namespace: 'bank', port: 81 }] },
    want: [{ service: 'bank/ledger', ports: [81] }],
  },
  {
    name: 'a service entry naming a port the Service does not mesh reaches nothing',
    egress: { default: 'Deny', allow: [{ service: 'ledger', namespace: 'bank', port: 9999 }] },
    want: [],
  },
  {
    name: 'two service entries for one Service add their ports up',
    egress: {
      default: 'Deny',
      allow: [
        { service: 'ledger', namespace: 'bank', port: 81 },
        { service: 'ledger', namespace: 'bank', port: 80 },
      ],
    },
    want: [{ service: 'bank/ledger', ports: [80, 81] }],
  },
  {
    name: 'a host:port entry naming a meshed Service port is meshed too',
    egress: { default: 'Deny', allow: [{ host: 'ledger.bank.svc.cluster.local', port: 80 }] },
    want: [{ service: 'bank/ledger', ports: [80] }],
  },
  {
    name: 'a host:port entry on a port the Service does not mesh stays a plain egress entry',
    egress: { default: 'Deny', allow: [{ host: 'ledger.bank.svc.cluster.local', port: 8443 }] },
    want: [],
  },
  {
    name: 'a service entry naming a Service that is not meshed gets an entry without identities (503, never clear text)',
    egress: { default: 'Deny', allow: [{ service: 'legacy' }] },
    want: [{ service: 'shop/legacy', ports: [], identities: 0 }],
  },
];

for (const c of reachCases) {
  test(c.name, () => {
    const got = directoryFor(aPolicy(withEgress(c.egress)), DIR, 'cluster.local');
    assert.deepEqual(
      got.map((e) => ({ service: `${e.namespace}/${e.name}`, ports: e.ports })),
      c.want.map((w) => ({ service: w.service, ports: w.ports })),
    );
    for (const w of c.want)
      if (w.identities !== undefined)
        assert.equal(
          got.find((e) => `${e.namespace}/${e.name}` === w.service)?.identities.length,
          w.identities,
        );
  });
}

test('the companion selects the Service pods and targets the sidecar named port', () => {
  const c = companionFor(aService('payments'));
  assert.equal(c.metadata.name, 'acp-mesh-payments');
  assert.deepEqual(c.spec?.selector, { app: 'payments' });
  assert.deepEqual(c.spec?.ports, [{ name: 'acp-tls', port: 8443, targetPort: 'acp-tls', protocol: 'TCP' }]);
  assert.equal(c.metadata.ownerReferences?.[0]?.uid, 'uid-payments');
});

test('a companion name stays a valid Service name for the longest Service names', () => {
  const name = companionServiceName('a'.repeat(63));
  assert.ok(name.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name), name);
});

const upToDateCases: { name: string; existing: (c: Service) => Service | undefined; want: boolean }[] = [
  {
    name: 'a stored companion identical but for its ClusterIP is up to date',
    existing: (c) => ({ ...c, spec: { ...c.spec, clusterIP: '198.19.0.5' } }),
    want: true,
  },
  { name: 'a missing companion is not up to date', existing: () => undefined, want: false },
  {
    name: 'a companion with another selector is not up to date',
    existing: (c) => ({ ...c, spec: { ...c.spec, selector: { app: 'x' } } }),
    want: false,
  },
  {
    name: 'a Service of the same name that is not ours is not up to date (it is overwritten by apply)',
    existing: (c) => ({ ...c, metadata: { ...c.metadata, labels: {} } }),
    want: false,
  },
];
for (const c of upToDateCases) {
  test(c.name, () => {
    const wanted = companionFor(aService('payments'));
    assert.equal(companionUpToDate(c.existing(wanted), wanted), c.want);
  });
}

/** N meshed Services in N/10 namespaces, 3 pods each, and their companions with ClusterIPs. */
function fleet(n: number): { services: Service[]; pods: Pod[]; policies: ApiCompliancePolicy[] } {
  const services: Service[] = [];
  const pods: Pod[] = [];
  const policies: ApiCompliancePolicy[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `team-${Math.floor(i / 10)}`;
    const name = `svc-${i}`;
    const svc = aService(name, ns, { clusterIP: `10.96.${i >> 8}.${i & 255}` });
    const companion = companionFor(svc);
    services.push(svc, {
      ...companion,
      spec: { ...companion.spec, clusterIP: `10.97.${i >> 8}.${i & 255}` },
    });
    for (let r = 0; r < 3; r++) pods.push(aPod(`${name}-${r}`, name, name, ns));
    policies.push(governing(name, ns));
  }
  return { services, pods, policies };
}

test('pod churn that keeps the service accounts (a restart, a scale-out, a roll) changes no caller directory', () => {
  const f = fleet(50);
  const caller = aPolicy(withEgress({ default: 'Allow', allow: [] }));
  const render = (pods: Pod[]): string =>
    JSON.stringify(
      directoryFor(
        caller,
        compileDirectory({ services: f.services, ...world(pods, f.policies) }),
        'cluster.local',
      ),
    );
  const before = render(f.pods);
  const churned = f.pods
    .filter((p) => p.metadata.name !== 'svc-7-0') // one pod deleted
    .concat(aPod('svc-7-3', 'svc-7', 'svc-7', 'team-0'), aPod('svc-7-4', 'svc-7', 'svc-7', 'team-0')); // scaled out
  assert.equal(render(churned), before);
  // A pod with a new service account does change it: the measurement above can fail.
  const changed = render(churned.concat(aPod('svc-7-5', 'svc-7', 'other', 'team-0')));
  assert.notEqual(changed, before);
});

test('the directory of 1,000 meshed Services (size printed for the record)', (t) => {
  const f = fleet(1000);
  const dir = compileDirectory({ services: f.services, ...world(f.pods, f.policies) });
  assert.equal(dir.length, 1000);
  const bytes = Buffer.byteLength(JSON.stringify({ services: dir }));
  const perService = Math.round(bytes / 1000);
  // The ConfigMap limit is 1 MiB; a default-Allow caller carries all of it.
  assert.ok(bytes < 1024 * 1024, `${bytes} bytes`);
  t.diagnostic(`mesh directory: 1000 services = ${bytes} bytes of JSON (${perService} bytes each)`);
});

test('a compiled config carries the directory as mesh and keeps service entries out of egress.allow', async () => {
  const policy = aPolicy(
    withEgress({ default: 'Deny', allow: [{ service: 'payments' }, { host: 'api.example.com', port: 80 }] }),
  );
  const config = await compileSidecarConfig(policy, {
    trustDomain: TD,
    mesh: directoryFor(policy, DIR, 'cluster.local'),
  });
  assert.deepEqual(config.egress.allow, [{ host: 'api.example.com', port: 80, peers: [] }]);
  assert.deepEqual(
    config.mesh?.services.map((e) => e.name),
    ['payments'],
  );
  const none = await compileSidecarConfig(aPolicy(), { trustDomain: TD, mesh: [] });
  assert.equal(none.mesh, undefined);
});
