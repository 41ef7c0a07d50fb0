import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicy, type ApiCompliancePolicy, type SidecarConfig } from '@acp/crds';
import { evaluateCompliance } from '../compliance/evaluate.ts';
import { aPolicy, compiled, withMtls, withProfiles } from '../testing/builders.ts';
import { evaluateEvidence, verifiedCondition, type EvidenceReport } from './evaluate.ts';
import type { Expected } from './integrity.ts';
import type { WorkloadObservation } from './observation.ts';
import { compliantObservation, EVIDENCE_HASH } from '../testing/evidence.ts';

const NOW = new Date('2026-12-05T12:00:00Z');
const HASH = EVIDENCE_HASH;

async function setup(
  policy: ApiCompliancePolicy,
): Promise<{ p: ApiCompliancePolicy; c: SidecarConfig; e: Expected }> {
  const v = validatePolicy(policy);
  assert.ok(v.ok);
  const c = await compiled(v.value);
  return {
    p: v.value,
    c,
    e: {
      configHash: HASH,
      sidecarVersion: '0.1.0',
      spiffeId: (sa) => `spiffe://cluster.local/ns/shop/sa/${sa}`,
      hsts: c.tls.hsts.header,
    },
  };
}

const compliant = compliantObservation;

type Change = (o: WorkloadObservation) => void;
const tls =
  (f: (t: NonNullable<WorkloadObservation['tls']>) => void): Change =>
  (o) =>
    o.tls && f(o.tls);

async function run(
  policy: ApiCompliancePolicy,
  ...changes: Change[]
): Promise<{ r: EvidenceReport; control: (id: string) => EvidenceReport['controls'][number] }> {
  const { p, c, e } = await setup(policy);
  const o = compliant(c);
  for (const f of changes) f(o);
  const r = evaluateEvidence({ policy: p, compiled: c, expected: e, observations: [o], now: NOW });
  return {
    r,
    control: (id) => {
      const x = r.controls.find((k) => k.id === id);
      assert.ok(x, id);
      return x;
    },
  };
}

/** Compliant as written: Strict mTLS with named peers. */
/** The report over several workloads built from the compiled config of PCI. */
async function many(make: (c: SidecarConfig) => WorkloadObservation[]): Promise<EvidenceReport> {
  const { p, c, e } = await setup(PCI);
  return evaluateEvidence({ policy: p, compiled: c, expected: e, observations: make(c), now: NOW });
}

const PCI = aPolicy(
  withProfiles('PCI-DSS-4.0'),
  withMtls({ mode: 'Strict', allowedPeers: [{ namespace: 'shop', serviceAccount: 'checkout' }] }),
);

describe('evaluateEvidence: one workload, control 4.2.1 (strong cryptography)', () => {
  const cases: [string, Change[], 'Pass' | 'Fail' | 'Unknown', RegExp][] = [
    ['passes when the sidecar refuses everything the policy forbids', [], 'Pass', /TLS 1.2 minimum/],
    [
      'fails when the sidecar accepts TLS 1.0',
      [tls((t) => (t.versions.TLSv1 = true))],
      'Fail',
      /minVersion TLSv1 allows protocols older/,
    ],
    [
      'fails when the sidecar accepts a forbidden CBC suite',
      [tls((t) => t.suites.forEach((s) => (s.accepted ||= s.name === 'ECDHE-ECDSA-AES128-SHA')))],
      'Fail',
      /not AEAD with ECDHE: ECDHE-ECDSA-AES128-SHA/,
    ],
    [
      'fails when TLS 1.3 is refused',
      [tls((t) => (t.versions['TLSv1.3'] = false))],
      'Fail',
      /TLS 1.3 has no cipher suite/,
    ],
    [
      'fails when the config in force is not the compiled one',
      [(o) => o.sidecar && (o.sidecar.configHash = 'b'.repeat(64))],
      'Fail',
      /runs config bbbbbbbbbbbb, compiled is aaaaaaaaaaaa/,
    ],
    [
      'fails when the sidecar is old',
      [(o) => o.sidecar && (o.sidecar.version = '0.0.9')],
      'Fail',
      /runs sidecar 0.0.9/,
    ],
    [
      'fails when the pod runs without the sidecar',
      [(o) => ((o.injected = false), delete o.tls)],
      'Fail',
      /without the injected sidecar/,
    ],
    [
      'fails when the served certificate has another identity',
      [tls((t) => (t.certificate.spiffeId = 'spiffe://cluster.local/ns/shop/sa/other'))],
      'Fail',
      /serves spiffe:\/\/cluster.local\/ns\/shop\/sa\/other, issued identity is .*sa\/web/,
    ],
    [
      'fails when the served certificate has expired',
      [tls((t) => (t.certificate.notAfter = '2026-12-05T11:00:00Z'))],
      'Fail',
      /expired at 2026-12-05T11:00:00Z/,
    ],
    [
      'fails when the served certificate is not from the mesh CA',
      [tls((t) => (t.certificate.trusted = false))],
      'Fail',
      /does not chain to the mesh CA/,
    ],
    ['fails when HSTS is missing', [tls((t) => (t.hsts = null))], 'Fail', /Strict-Transport-Security absent/],
    [
      'is unknown, not failed, when the probe times out',
      [(o) => (o.failure = { code: 'ACP_ERR_PROBE_TIMEOUT', message: 'no answer in 5s' })],
      'Unknown',
      /no answer in 5s/,
    ],
    [
      'is unknown, not passed, when the probe times out on a drifted workload',
      [
        (o) => o.sidecar && (o.sidecar.configHash = 'b'.repeat(64)),
        (o) => (o.failure = { code: 'ACP_ERR_PROBE_UNREACHABLE', message: 'connection refused' }),
      ],
      'Unknown',
      /connection refused/,
    ],
  ];
  for (const [name, changes, status, evidence] of cases)
    it(name, async () => {
      const c = (await run(PCI, ...changes)).control('4.2.1');
      assert.equal(c.status, status);
      assert.match(c.evidence, evidence);
    });
});

describe('evaluateEvidence: authentication measured, not declared', () => {
  it('fails 8.3.1 under Strict when a handshake without a client certificate is served', async () => {
    const { control } = await run(
      PCI,
      tls((t) => (t.anonymousServed = true)),
    );
    assert.equal(control('8.3.1').status, 'Fail');
    assert.match(control('8.3.1').evidence, /mTLS is Permissive/);
  });
  it('judges the same control definition as status.compliance on a compliant workload', async () => {
    const { p, c } = await setup(PCI);
    const declared = evaluateCompliance(c, p);
    const { r } = await run(PCI);
    assert.deepEqual(
      r.controls.map((x) => [x.id, x.status]),
      declared.controls.map((x) => [x.id, x.status]),
    );
  });
  it('keeps a declared failure failing when measured (Permissive policy)', async () => {
    const { control } = await run(
      aPolicy(withProfiles('HIPAA'), withMtls({ mode: 'Permissive' })),
      tls((t) => (t.anonymousServed = true)),
    );
    assert.equal(control('164.312(e)(1)').status, 'Fail');
  });
});

describe('evaluateEvidence: several workloads', () => {
  it('fails a control when one workload fails, naming it, and counts each verdict', async () => {
    const r = await many((c) => {
      const bad = compliant(c, 'web-2');
      if (bad.sidecar) bad.sidecar.configHash = 'c'.repeat(64);
      const lost = compliant(c, 'web-3');
      lost.failure = { code: 'ACP_ERR_PROBE_TIMEOUT', message: 'timeout' };
      return [compliant(c), bad, lost];
    });
    const k = r.controls.find((x) => x.id === '4.2.1');
    assert.deepEqual([k?.status, k?.passed, k?.failed, k?.unknown, k?.failing], ['Fail', 1, 1, 1, ['web-2']]);
    assert.deepEqual(
      r.workloads.map((w) => w.status),
      ['Pass', 'Fail', 'Unknown'],
    );
    assert.deepEqual(
      r.workloads[1]?.drift.map((d) => d.code),
      ['ACP_ERR_EVIDENCE_STALE_CONFIG'],
    );
  });
  it('is unknown when nothing fails but one workload could not be measured', async () => {
    const r = await many((c) => {
      const lost = compliant(c, 'web-2');
      lost.failure = { code: 'ACP_ERR_PROBE_UNREACHABLE', message: 'refused' };
      return [compliant(c), lost];
    });
    assert.deepEqual(new Set(r.controls.map((x) => x.status)), new Set(['Unknown']));
    assert.deepEqual(
      r.profiles.map((x) => x.status),
      ['Unknown'],
    );
  });
  it('dates a control by its oldest probe and the report by its newest', async () => {
    const r = await many((c) => [
      compliant(c, 'a', '2026-12-05T11:50:00Z'),
      compliant(c, 'b', '2026-12-05T11:55:00Z'),
    ]);
    assert.equal(r.controls[0]?.lastVerified, '2026-12-05T11:50:00Z');
    assert.equal(r.lastVerified, '2026-12-05T11:55:00Z');
  });
  it('is unknown for every control when no workload was probed', async () => {
    const r = await many(() => []);
    assert.ok(r.controls.every((x) => x.status === 'Unknown' && x.checked === 0));
  });
});

describe('verifiedCondition', () => {
  const cases: [string, Change[], string, string][] = [
    ['is True when every control holds on every workload', [], 'True', 'Verified'],
    [
      'is False with Drift when the config in force is stale',
      [(o) => o.sidecar && (o.sidecar.configHash = 'd')],
      'False',
      'Drift',
    ],
    [
      'is False with ControlsFailing when TLS 1.1 is accepted',
      [tls((t) => (t.versions['TLSv1.1'] = true))],
      'False',
      'ControlsFailing',
    ],
    [
      'is Unknown with ProbeFailed when the probe could not reach the pod',
      [(o) => (o.failure = { code: 'ACP_ERR_PROBE_UNREACHABLE', message: 'refused' })],
      'Unknown',
      'ProbeFailed',
    ],
  ];
  for (const [name, changes, status, reason] of cases)
    it(name, async () => {
      const { r } = await run(PCI, ...changes);
      const v = verifiedCondition(r, 3);
      assert.deepEqual([v.status, v.reason, v.observedGeneration], [status, reason, 3]);
    });
  it('is Unknown with NotYetVerified before the first probe round', () =>
    assert.equal(verifiedCondition(undefined, 1).reason, 'NotYetVerified'));
  it('is Unknown with NoWorkloads when nothing is selected', async () =>
    assert.equal(verifiedCondition(await many(() => []), 1).reason, 'NoWorkloads'));
});
