import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { ApiCompliancePolicy } from '@acp/crds';
import type { Pod, Secret } from '@acp/kube';
import { createRootCa } from '@acp/pki';
import {
  formatCa,
  formatDuration,
  formatStatusJson,
  formatStatusTable,
  relative,
  statusReport,
  type NamespaceObjects,
  type StatusInput,
} from './status.ts';

const NOW = new Date('2026-12-05T10:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function policy(name: string, ns: string, change: (p: ApiCompliancePolicy) => void = () => undefined) {
  const p: ApiCompliancePolicy = {
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name, namespace: ns, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { selector: { matchLabels: { app: name } }, upstream: { port: 8080 } },
    status: {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Reconciled',
          message: 'in force',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
        {
          type: 'Compliant',
          status: 'False',
          reason: 'ControlsFailing',
          message: 'HIPAA-1 fails',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
        {
          type: 'Verified',
          status: 'False',
          reason: 'Drift',
          message: 'pod api-1 runs config abc, compiled def',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
      workloads: { selected: 3, injected: 2, summary: '2/3' },
    },
  };
  change(p);
  return p;
}

const pod = (name: string, app: string, sa: string, phase = 'Running'): Pod => ({
  metadata: { name, labels: { app } },
  spec: { serviceAccountName: sa },
  status: { phase },
});

const identity = (sa: string, renewAt: Date, notAfter: Date): Secret => ({
  metadata: {
    name: `acp-identity-${sa}`,
    annotations: { 'acp.dev/renew-at': renewAt.toISOString(), 'acp.dev/not-after': notAfter.toISOString() },
  },
});

let caPem = '';
before(async () => {
  caPem = (
    await createRootCa({ commonName: 'test CA', keyAlgorithm: 'ECDSA-P256', lifetimeMs: 30 * DAY, now: NOW })
  ).certPem;
});

function input(
  namespaces: Record<string, NamespaceObjects>,
  policies = [policy('api', 'shop')],
): StatusInput {
  return { policies, namespaces, ca: { secret: 'acp-system/acp-ca', certPem: caPem }, now: NOW };
}

describe('statusReport', () => {
  it('reads the conditions, mode and workloads of the policy status', () => {
    const r = statusReport(input({ shop: { pods: [], identitySecrets: [] } }));
    const [row] = r.policies;
    assert.deepEqual(row?.ready, { status: 'True', reason: 'Reconciled', message: 'in force' });
    assert.deepEqual(row?.compliant, {
      status: 'False',
      reason: 'ControlsFailing',
      message: 'HIPAA-1 fails',
    });
    assert.equal(row?.mode, 'Enforce');
    assert.deepEqual(row?.workloads, { selected: 3, injected: 2 });
    assert.equal(row?.verified?.reason, 'Drift');
  });

  it('does not list a Verified condition that is Unknown (not measured yet) among the problems', () => {
    const unmeasured = policy('api', 'shop', (p) => {
      const v = p.status?.conditions?.find((c) => c.type === 'Verified');
      if (v) Object.assign(v, { status: 'Unknown', reason: 'NotYetVerified', message: 'no probe round yet' });
    });
    const text = formatStatusTable(
      statusReport(input({ shop: { pods: [], identitySecrets: [] } }, [unmeasured])),
      {
        now: NOW,
        allNamespaces: false,
        namespace: 'shop',
      },
    );
    assert.match(text, /Unknown \(NotYetVerified\)/);
    assert.doesNotMatch(text, /Verified: no probe round yet/);
  });

  it('the next renewal is the earliest renew-at among the service accounts of the pods it selects', () => {
    const r = statusReport(
      input({
        shop: {
          pods: [pod('a', 'api', 'api'), pod('b', 'api', 'worker'), pod('c', 'other', 'other')],
          identitySecrets: [
            identity('api', new Date(NOW.getTime() + 5 * HOUR), new Date(NOW.getTime() + 8 * HOUR)),
            identity('worker', new Date(NOW.getTime() + 2 * HOUR), new Date(NOW.getTime() + 6 * HOUR)),
            identity('other', new Date(NOW.getTime() + HOUR), new Date(NOW.getTime() + 3 * HOUR)),
          ],
        },
      }),
    );
    const row = r.policies[0];
    assert.deepEqual(row?.nextRenewal, {
      kind: 'next',
      serviceAccount: 'worker',
      renewAt: '2026-12-05T12:00:00.000Z',
      notAfter: '2026-12-05T16:00:00.000Z',
    });
    assert.deepEqual(
      row?.identities.map((i) => i.serviceAccount),
      ['api', 'worker'],
      'the other workload is not this policy’s',
    );
  });

  const renewals: [string, NamespaceObjects | undefined, unknown][] = [
    [
      'a selected service account without its Secret is "not issued yet"',
      { pods: [pod('a', 'api', 'api')], identitySecrets: [] },
      { kind: 'none', why: 'not issued yet (api)' },
    ],
    [
      'a policy that selects no live pod has no renewal',
      { pods: [pod('a', 'api', 'api', 'Succeeded')], identitySecrets: [] },
      { kind: 'none', why: 'no selected pods' },
    ],
    [
      'pods that cannot be read make the renewal unknown, with the reason',
      { pods: { error: 'pods is forbidden' }, identitySecrets: [] },
      { kind: 'unknown', why: 'pods: pods is forbidden' },
    ],
    [
      'Secrets that cannot be read make the renewal unknown, with the reason',
      { pods: [pod('a', 'api', 'api')], identitySecrets: { error: 'secrets is forbidden' } },
      { kind: 'unknown', why: 'secrets: secrets is forbidden' },
    ],
    ['a namespace not read is unknown', undefined, { kind: 'unknown', why: 'namespace not read' }],
  ];
  for (const [name, objects, expected] of renewals) {
    it(name, () => {
      const r = statusReport(input(objects ? { shop: objects } : {}));
      assert.deepEqual(r.policies[0]?.nextRenewal, expected);
    });
  }

  it('sorts policies by namespace, then name', () => {
    const r = statusReport(input({}, [policy('b', 'shop'), policy('a', 'zoo'), policy('a', 'shop')]));
    assert.deepEqual(
      r.policies.map((p) => `${p.namespace}/${p.name}`),
      ['shop/a', 'shop/b', 'zoo/a'],
    );
  });

  it('a policy without status shows no conditions and no workloads', () => {
    const r = statusReport(input({}, [policy('new', 'shop', (p) => delete p.status)]));
    assert.equal(r.policies[0]?.ready, undefined);
    assert.equal(r.policies[0]?.workloads, undefined);
  });

  it("reads the CA's expiry from its certificate", () => {
    const r = statusReport(input({}));
    assert.deepEqual(r.ca, {
      secret: 'acp-system/acp-ca',
      notAfter: '2027-01-04T10:00:00.000Z',
      expired: false,
    });
  });

  it('a CA Secret it cannot read is unknown, with the reason', () => {
    const r = statusReport({ ...input({}), ca: { secret: 'acp-system/acp-ca', error: 'forbidden' } });
    assert.deepEqual(r.ca, { secret: 'acp-system/acp-ca', unknown: 'forbidden' });
  });

  it('a CA Secret without a certificate is unknown', () => {
    const r = statusReport({ ...input({}), ca: { secret: 'acp-system/acp-ca', certPem: 'junk' } });
    assert.deepEqual(r.ca, { secret: 'acp-system/acp-ca', unknown: 'tls.crt does not hold a certificate' });
  });
});

describe('status formatting', () => {
  const durations: [number, string][] = [
    [45_000, '45s'],
    [12 * 60_000, '12m'],
    [5 * HOUR + 12 * 60_000, '5h12m'],
    [2 * HOUR, '2h'],
    [3 * DAY + 4 * HOUR, '3d4h'],
    [400 * DAY + HOUR, '400d'],
    [-5, '0s'],
  ];
  for (const [ms, text] of durations) {
    it(`${ms} ms reads as ${text}`, () => assert.equal(formatDuration(ms), text));
  }

  it('a time ahead reads "in ..." and one behind "<past> ... ago"', () => {
    assert.equal(relative('2026-12-05T15:00:00Z', NOW, 'overdue since'), 'in 5h');
    assert.equal(relative('2026-12-05T09:00:00Z', NOW, 'overdue since'), 'overdue since 1h ago');
  });

  const cas: [string, Parameters<typeof formatCa>[0], string][] = [
    [
      'a CA in force',
      { secret: 'acp-system/acp-ca', notAfter: '2027-01-04T10:00:00.000Z', expired: false },
      'CA acp-system/acp-ca: expires in 30d (2027-01-04T10:00:00.000Z)',
    ],
    [
      'an expired CA',
      { secret: 'acp-system/acp-ca', notAfter: '2026-12-04T10:00:00.000Z', expired: true },
      'CA acp-system/acp-ca: EXPIRED 1d ago (2026-12-04T10:00:00.000Z)',
    ],
    [
      'an unknown CA',
      { secret: 'acp-system/acp-ca', unknown: 'secrets "acp-ca" is forbidden' },
      'CA acp-system/acp-ca: expiry unknown (secrets "acp-ca" is forbidden)',
    ],
  ];
  for (const [name, ca, text] of cas) {
    it(`the CA line of ${name}`, () => assert.equal(formatCa(ca, NOW), text));
  }

  const report = (): ReturnType<typeof statusReport> =>
    statusReport(
      input({
        shop: {
          pods: [pod('a', 'api', 'api')],
          identitySecrets: [
            identity('api', new Date(NOW.getTime() + 5 * HOUR), new Date(NOW.getTime() + 8 * HOUR)),
          ],
        },
      }),
    );

  it('prints a row per policy, the messages of conditions that are not True, and the CA', () => {
    assert.equal(
      formatStatusTable(report(), { now: NOW, allNamespaces: false, namespace: 'shop' }),
      [
        'NAME  READY              COMPLIANT                VERIFIED       MODE     WORKLOADS  NEXT RENEWAL',
        'api   True (Reconciled)  False (ControlsFailing)  False (Drift)  Enforce  2/3        in 5h (api)',
        '',
        '  shop/api Compliant: HIPAA-1 fails',
        '  shop/api Verified: pod api-1 runs config abc, compiled def',
        '',
        'CA acp-system/acp-ca: expires in 30d (2027-01-04T10:00:00.000Z)',
        '',
      ].join('\n'),
    );
  });

  it('adds the NAMESPACE column with -A, as kubectl does', () => {
    const text = formatStatusTable(report(), { now: NOW, allNamespaces: true, namespace: undefined });
    assert.match(text, /^NAMESPACE {2}NAME {2}READY/);
    assert.match(text.split('\n')[1] ?? '', /^shop {7}api /);
  });

  it('says when there is no policy, and still shows the CA', () => {
    const empty = statusReport(input({}, []));
    assert.equal(
      formatStatusTable(empty, { now: NOW, allNamespaces: false, namespace: 'shop' }),
      'No ApiCompliancePolicies found in namespace shop.\n\nCA acp-system/acp-ca: expires in 30d (2027-01-04T10:00:00.000Z)\n',
    );
  });

  it('prints the report as JSON for machines', () => {
    const json = JSON.parse(formatStatusJson(report())) as {
      policies: { name: string; nextRenewal: { serviceAccount: string } }[];
      ca: { notAfter: string };
    };
    assert.equal(json.policies[0]?.name, 'api');
    assert.equal(json.policies[0]?.nextRenewal.serviceAccount, 'api');
    assert.equal(json.ca.notAfter, '2027-01-04T10:00:00.000Z');
  });
});
