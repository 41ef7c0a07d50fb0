// `acp report -o oscal`: the report as an OSCAL 1.2.3 assessment-results
// document. One result per policy (start: its oldest probe, end: its
// newest), the pods as local inventory items, one observation per control
// and pod (method TEST, the pod as subject, collected when it was probed,
// the evidence), one finding per control targeting the control objective:
// satisfied when measured Pass; not-satisfied (reason fail) when measured
// Fail; not-satisfied (reason other, remarks: could not be measured) when
// Unknown, since OSCAL has no third state and nothing unmeasured may read
// as satisfied. UUIDs are name-based (v5), so the same report gives the
// same document. Pure.
import { createHash } from 'node:crypto';
import type { ControlRow, EvidenceReportDocument, PolicyReport } from './report.ts';

export const OSCAL_VERSION = '1.2.3';

/** A version-5 (name-based, SHA-1) UUID. */
export function uuid5(name: string): string {
  const h = createHash('sha1').update(`acp:${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** An OSCAL token (NCName) for a control: profile and id, other characters as _. */
export function controlToken(profile: string, id: string): string {
  return `${profile}_${id}`
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '_')
    .replace(/^[^a-z_]/, '_$&');
}

const text = (s: string): string => s.trim() || '(none)';

function finding(p: PolicyReport, c: ControlRow, observations: string[]): Record<string, unknown> {
  const status =
    c.measured === 'Pass'
      ? { state: 'satisfied', reason: 'pass' }
      : c.measured === 'Fail'
        ? { state: 'not-satisfied', reason: 'fail' }
        : {
            state: 'not-satisfied',
            reason: 'other',
            remarks: 'could not be measured (probe failure or no round yet): not shown satisfied',
          };
  return {
    uuid: uuid5(`finding/${p.namespace}/${p.name}/${c.profile}/${c.id}`),
    title: `${c.profile} ${c.id}: ${c.title}`,
    description: text(c.evidence),
    props: [
      { name: 'measured', value: c.measured },
      { name: 'declared', value: text(c.declared) },
    ],
    target: {
      type: 'objective-id',
      'target-id': controlToken(c.profile, c.id),
      title: `${c.profile} ${c.id}`,
      status,
    },
    ...(observations.length > 0
      ? { 'related-observations': observations.map((u) => ({ 'observation-uuid': u })) }
      : {}),
  };
}

function result(p: PolicyReport, generatedAt: string): Record<string, unknown> {
  const controls = p.profiles.flatMap((f) => f.controls);
  const pods = [...new Map(controls.flatMap((c) => c.workloads).map((w) => [w.workload, w])).values()];
  const item = (pod: string): string => uuid5(`pod/${p.namespace}/${pod}`);
  const times = pods
    .map((w) => w.lastVerified)
    .filter(Boolean)
    .sort();
  const observations: Record<string, unknown>[] = [];
  const findings = controls.map((c) => {
    const uuids = c.workloads.map((w) => {
      const uuid = uuid5(
        `observation/${p.namespace}/${p.name}/${c.profile}/${c.id}/${w.workload}/${w.lastVerified}`,
      );
      observations.push({
        uuid,
        title: `${c.profile} ${c.id} on ${w.workload}: ${w.result}`,
        description: text(w.evidence),
        props: [{ name: 'result', value: w.result }],
        methods: ['TEST'],
        subjects: [
          {
            'subject-uuid': item(w.workload),
            type: 'inventory-item',
            title: `pod ${p.namespace}/${w.workload}`,
          },
        ],
        collected: w.lastVerified || generatedAt,
        'relevant-evidence': [{ description: text(w.evidence) }],
      });
      return uuid;
    });
    return finding(p, c, uuids);
  });
  return {
    uuid: uuid5(`result/${p.namespace}/${p.name}/${p.lastVerified}`),
    title: `${p.namespace}/${p.name}`,
    description: text(
      `Measured compliance of ApiCompliancePolicy ${p.namespace}/${p.name} (generation ${p.generation}): ${p.verified ? `Verified ${p.verified.status} (${p.verified.reason}): ${p.verified.message}` : 'not verified'}`,
    ),
    start: times[0] ?? generatedAt,
    ...(times.length > 0 ? { end: times[times.length - 1] } : {}),
    ...(pods.length > 0
      ? {
          'local-definitions': {
            'inventory-items': pods.map((w) => ({
              uuid: item(w.workload),
              description: `pod ${p.namespace}/${w.workload} (service account ${w.serviceAccount || 'default'})`,
              props: [
                { name: 'asset-type', value: 'software' },
                { name: 'asset-id', value: `${p.namespace}/${w.workload}` },
              ],
            })),
          },
        }
      : {}),
    'reviewed-controls': {
      'control-selections': [
        controls.length > 0
          ? { 'include-controls': controls.map((c) => ({ 'control-id': controlToken(c.profile, c.id) })) }
          : { 'include-all': {} },
      ],
    },
    ...(observations.length > 0 ? { observations } : {}),
    ...(findings.length > 0 ? { findings } : {}),
  };
}

export function formatReportOscal(r: EvidenceReportDocument): string {
  const doc = {
    'assessment-results': {
      uuid: uuid5(
        `assessment-results/${r.generatedAt}/${r.policies.map((p) => `${p.namespace}/${p.name}`).join(',')}`,
      ),
      metadata: {
        title: 'API compliance evidence: measured on running sidecars',
        'last-modified': r.generatedAt,
        version: r.generatedAt,
        'oscal-version': OSCAL_VERSION,
        remarks: `Generated by acp report from ${r.source}.`,
      },
      'import-ap': {
        href: '#acp-verify-plan',
        remarks:
          'The plan is the operator prober: every verify period it probes every selected pod of each policy (TLS versions and suites, client certificate, served certificate, HSTS, config hash and version) and judges the controls of the policy profiles.',
      },
      results: r.policies.map((p) => result(p, r.generatedAt)),
    },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
