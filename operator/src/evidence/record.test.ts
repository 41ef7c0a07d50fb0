import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EvidenceReport, WorkloadVerdict } from './evaluate.ts';
import { driftEvents, MAX_PODS, verificationStatus, type VerificationStatus } from './record.ts';

function verdict(
  pod: string,
  status: WorkloadVerdict['status'],
  extra: Partial<WorkloadVerdict> = {},
): WorkloadVerdict {
  return {
    pod,
    serviceAccount: 'web',
    status,
    lastVerified: '2026-12-05T12:00:00Z',
    evidence: 'measured',
    drift: [],
    failedControls: [],
    ...extra,
  };
}
const stale = { code: 'ACP_ERR_EVIDENCE_STALE_CONFIG' as const, message: 'stale' };
const old = { code: 'ACP_ERR_EVIDENCE_OLD_SIDECAR' as const, message: 'old' };
const report = (workloads: WorkloadVerdict[]): EvidenceReport => ({ profiles: [], controls: [], workloads });

describe('verificationStatus', () => {
  it('lists failing pods first, then unknown ones, then passing ones', () => {
    const s = verificationStatus(
      report([verdict('a', 'Pass'), verdict('b', 'Unknown'), verdict('c', 'Fail')]),
    );
    assert.deepEqual(
      s.pods?.map((p) => p.pod),
      ['c', 'b', 'a'],
    );
    assert.deepEqual(s.workloads, { checked: 3, passed: 1, failed: 1, unknown: 1 });
  });
  it('keeps at most MAX_PODS pods and says how many it left out', () => {
    const many = Array.from({ length: MAX_PODS + 5 }, (_, i) =>
      verdict(`p${String(i).padStart(4, '0')}`, 'Pass'),
    );
    const s = verificationStatus(report(many));
    assert.equal(s.pods?.length, MAX_PODS);
    assert.equal(s.truncatedPods, 5);
    assert.equal(s.workloads?.checked, MAX_PODS + 5);
  });
});

describe('driftEvents', () => {
  const stored = (pods: NonNullable<VerificationStatus['pods']>): VerificationStatus => ({ pods });
  const cases: [string, VerificationStatus | undefined, WorkloadVerdict[], string[]][] = [
    [
      'gives one Warning naming a pod whose drift is new',
      undefined,
      [verdict('a', 'Fail', { drift: [stale] })],
      ['a WorkloadDrift'],
    ],
    [
      'gives none when the stored status already has that drift for the pod',
      stored([{ pod: 'a', drift: [stale] }]),
      [verdict('a', 'Fail', { drift: [stale] })],
      [],
    ],
    [
      'gives one when the pod drifts in a new way',
      stored([{ pod: 'a', drift: [stale] }]),
      [verdict('a', 'Fail', { drift: [stale, old] })],
      ['a WorkloadDrift'],
    ],
    [
      'gives one naming a pod whose controls newly fail without drift',
      stored([{ pod: 'a', failedControls: [] }]),
      [verdict('a', 'Fail', { failedControls: ['PCI-DSS-4.0 4.2.1'] })],
      ['a WorkloadControlsFailing'],
    ],
    [
      'gives none for passing or unknown pods',
      undefined,
      [verdict('a', 'Pass'), verdict('b', 'Unknown')],
      [],
    ],
  ];
  for (const [name, before, workloads, want] of cases)
    it(name, () =>
      assert.deepEqual(
        driftEvents(before, workloads, 'shop').map((e) => `${e.pod} ${e.reason}`),
        want,
      ),
    );
  it('names the policy, the pod and the code in the note', () =>
    assert.match(
      driftEvents(undefined, [verdict('a', 'Fail', { drift: [stale] })], 'shop')[0]?.note ?? '',
      /^policy shop: pod a: ACP_ERR_EVIDENCE_STALE_CONFIG: stale/,
    ));
});
