// Table tests of the caller-side decision: which names reach a meshed
// Service (short name in the caller's namespace, longer names, ClusterIP,
// trailing dot, letter case), on which ports, what an entry without
// identities or address gives, and how egress.allow / egress.default apply
// to what is not meshed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SidecarConfig } from '@acp/crds/sidecar';
import { baseConfig } from '../testing/fixtures.ts';
import { normalizeHost, route, type Route } from './outbound-route.ts';

const PAYMENTS_ID = 'spiffe://cluster.local/ns/shop/sa/payments';

function config(mutate: (c: SidecarConfig) => void = () => undefined): SidecarConfig {
  const c = baseConfig(8080);
  c.policy.namespace = 'shop';
  c.mesh = {
    services: [
      {
        namespace: 'shop',
        name: 'payments',
        names: ['payments.shop', 'payments.shop.svc', 'payments.shop.svc.cluster.local', '198.19.0.10'],
        ports: [8080],
        address: '198.19.0.40',
        port: 8443,
        identities: [PAYMENTS_ID],
      },
      {
        namespace: 'bank',
        name: 'ledger',
        names: ['ledger.bank', 'ledger.bank.svc', 'ledger.bank.svc.cluster.local'],
        ports: [80],
        address: '',
        port: 8443,
        identities: ['spiffe://cluster.local/ns/bank/sa/ledger'],
      },
      {
        namespace: 'shop',
        name: 'legacy',
        names: ['legacy.shop', 'legacy.shop.svc', 'legacy.shop.svc.cluster.local'],
        ports: [],
        address: '',
        port: 8443,
        identities: [],
      },
    ],
  };
  c.egress = { default: 'Deny', allow: [{ host: 'api.example.com', port: 80, peers: [] }] };
  mutate(c);
  return c;
}

const MESH: Route = {
  kind: 'mesh',
  destination: 'shop/payments:8080',
  host: '198.19.0.40',
  port: 8443,
  identities: [PAYMENTS_ID],
};

const DENIED: Route = { kind: 'deny', destination: 'other' };

const cases: { name: string; host: string; port: number; c?: (c: SidecarConfig) => void; want: Route }[] = [
  { name: 'the short name resolves in the caller namespace', host: 'payments', port: 8080, want: MESH },
  { name: 'name.namespace reaches the Service', host: 'payments.shop', port: 8080, want: MESH },
  { name: 'the .svc name reaches the Service', host: 'payments.shop.svc', port: 8080, want: MESH },
  { name: 'the FQDN reaches the Service', host: 'payments.shop.svc.cluster.local', port: 8080, want: MESH },
  {
    name: 'the FQDN with a trailing dot and upper case reaches it too',
    host: 'Payments.Shop.svc.cluster.local.',
    port: 8080,
    want: MESH,
  },
  { name: 'the Service ClusterIP reaches it too', host: '198.19.0.10', port: 8080, want: MESH },
  {
    name: 'another port of a meshed name is not meshed (and here denied)',
    host: 'payments',
    port: 9090,
    want: DENIED,
  },
  {
    name: 'the short name from another namespace does not reach it',
    host: 'payments',
    port: 8080,
    c: (c) => (c.policy.namespace = 'web'),
    want: DENIED,
  },
  {
    name: 'a Service without a companion address yet is unavailable (503), not plain',
    host: 'ledger.bank',
    port: 80,
    want: { kind: 'unavailable', destination: 'bank/ledger:80' },
  },
  {
    name: 'a named Service without meshed pods is unavailable on any port',
    host: 'legacy',
    port: 1234,
    want: { kind: 'unavailable', destination: 'shop/legacy:1234' },
  },
  {
    name: 'a non-meshed host listed in egress.allow goes there in plain HTTP',
    host: 'api.example.com',
    port: 80,
    want: {
      kind: 'egress',
      destination: 'api.example.com:80',
      host: 'api.example.com',
      port: 80,
      identities: [],
    },
  },
  {
    name: 'a non-meshed host not listed is denied under egress.default Deny',
    host: 'evil.example.com',
    port: 80,
    want: DENIED,
  },
  {
    name: 'a non-meshed host not listed passes under egress.default Allow, labelled other',
    host: 'evil.example.com',
    port: 80,
    c: (c) => (c.egress.default = 'Allow'),
    want: { kind: 'egress', destination: 'other', host: 'evil.example.com', port: 80, identities: [] },
  },
  {
    name: 'a hand-written entry with peers keeps its mTLS check',
    host: '10.0.0.5',
    port: 8443,
    c: (c) => c.egress.allow.push({ host: '10.0.0.5', port: 8443, peers: [PAYMENTS_ID] }),
    want: {
      kind: 'egress',
      destination: '10.0.0.5:8443',
      host: '10.0.0.5',
      port: 8443,
      identities: [PAYMENTS_ID],
    },
  },
  {
    name: 'a config without a mesh section routes by egress alone',
    host: 'payments',
    port: 8080,
    c: (c) => delete c.mesh,
    want: DENIED,
  },
  {
    name: 'an entry with identities but no ports reaches no port (no wildcard for mTLS entries)',
    host: 'payments',
    port: 9999,
    c: (c) => {
      const first = c.mesh?.services[0];
      if (first) first.ports = [];
    },
    want: DENIED,
  },
];

for (const c of cases) test(c.name, () => assert.deepEqual(route(config(c.c), c.host, c.port), c.want));

const hosts: [string, string][] = [
  ['payments', 'payments.shop'],
  ['localhost', 'localhost'],
  ['10.1.2.3', '10.1.2.3'],
  ['[::1]', '::1'],
  ['A.B.', 'a.b'],
];
for (const [h, want] of hosts)
  test(`the host ${h} is looked up as ${want} from namespace shop`, () =>
    assert.equal(normalizeHost(h, 'shop'), want));
