import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { validatePolicy, type ApiCompliancePolicy } from '@acp/crds';
import { evaluateCompliance } from '../compliance/evaluate.ts';
import { evaluateEvidence, verifiedCondition } from '../evidence/evaluate.ts';
import { compliantObservation, EVIDENCE_HASH } from '../testing/evidence.ts';
import { verificationStatus } from '../evidence/record.ts';
import { aPolicy, compiled, withMtls, withProfiles } from '../testing/builders.ts';
import { formatReportOscal, controlToken, uuid5 } from './oscal.ts';
import { formatReportHtml, formatReportMarkdown } from './report-format.ts';
import { anyFailing, buildReport } from './report.ts';
import { policiesFromFiles, REPORT_FILES, runReport } from './report-command.ts';
import { stringify } from 'yaml';

const HASH = EVIDENCE_HASH;
const AT = '2026-12-05T11:59:00.000Z';

/** A policy as `kubectl get acp -o yaml` shows it: compliant web-1, web-2 on a stale config. */
async function measuredPolicy(): Promise<ApiCompliancePolicy> {
  const v = validatePolicy(
    aPolicy(
      withProfiles('PCI-DSS-4.0'),
      withMtls({ mode: 'Strict', allowedPeers: [{ namespace: 'shop', serviceAccount: 'checkout' }] }),
    ),
  );
  assert.ok(v.ok);
  const p = v.value;
  const c = await compiled(p);
  const r = evaluateEvidence({
    policy: p,
    compiled: c,
    expected: {
      configHash: HASH,
      sidecarVersion: '0.1.0',
      spiffeId: (sa) => `spiffe://cluster.local/ns/shop/sa/${sa}`,
      hsts: c.tls.hsts.header,
    },
    observations: [
      compliantObservation(c, 'web-1', AT),
      compliantObservation(c, 'web-2', AT, 'b'.repeat(64)),
    ],
    now: new Date('2026-12-05T12:00:00Z'),
  });
  const declared = evaluateCompliance(c, p);
  p.status = {
    compliance: declared,
    verification: verificationStatus(r),
    conditions: [{ ...verifiedCondition(r, 1), lastTransitionTime: AT }],
  };
  return p;
}

const schema = JSON.parse(
  readFileSync(new URL('../../testdata/oscal/oscal_complete_schema.json', import.meta.url), 'utf8'),
) as object;
const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const validateOscal = (() => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
})();

describe('acp report', () => {
  it('gives per profile, control and workload the measured result, evidence and timestamps', async () => {
    const r = buildReport([await measuredPolicy()], AT, 'file acp.yaml');
    const c = r.policies[0]?.profiles[0]?.controls.find((x) => x.id === '4.2.1');
    assert.equal(c?.measured, 'Fail');
    assert.equal(c?.declared, 'Pass');
    assert.deepEqual(
      c?.workloads.map((w) => [w.workload, w.result, w.lastVerified]),
      [
        ['web-1', 'Pass', AT],
        ['web-2', 'Fail', AT],
      ].sort((a, b) => (a[1] === 'Fail' ? -1 : b[1] === 'Fail' ? 1 : 0)),
    );
    assert.match(
      c?.workloads.find((w) => w.workload === 'web-2')?.evidence ?? '',
      /ACP_ERR_EVIDENCE_STALE_CONFIG/,
    );
    assert.match(c?.workloads.find((w) => w.workload === 'web-1')?.evidence ?? '', /TLSv1 refused/);
    assert.equal(r.policies[0]?.verified?.reason, 'Drift');
    assert.equal(anyFailing(r), true);
  });

  it('writes Markdown and HTML naming every workload, HTML escaped', async () => {
    const r = buildReport([await measuredPolicy()], AT, 'cluster <ns shop>');
    const md = formatReportMarkdown(r);
    assert.match(md, /^#### PCI-DSS-4.0 4.2.1: /m);
    assert.match(
      md,
      /^\| web-2 \| web \| Fail \| 2026-12-05T11:59:00.000Z \| ACP_ERR_EVIDENCE_STALE_CONFIG/m,
    );
    const html = formatReportHtml(r);
    assert.match(html, /cluster &lt;ns shop&gt;/);
    assert.match(html, /<td>web-1<\/td><td>web<\/td><td>Pass<\/td>/);
  });

  it('writes OSCAL assessment-results that validate against the NIST OSCAL 1.2.3 schema', async () => {
    const doc = JSON.parse(formatReportOscal(buildReport([await measuredPolicy()], AT, 'file'))) as Record<
      string,
      any
    >;
    const ok = validateOscal(doc);
    assert.equal(ok, true, JSON.stringify(validateOscal.errors?.slice(0, 5), null, 1));
    const result = doc['assessment-results'].results[0];
    const f = result.findings.find(
      (x: any) => x.target['target-id'] === controlToken('PCI-DSS-4.0', '4.2.1'),
    );
    assert.deepEqual(f.target.status, { state: 'not-satisfied', reason: 'fail' });
    assert.equal(f['related-observations'].length, 2);
    assert.equal(result['local-definitions']['inventory-items'].length, 2);
  });

  it('shows the schema check can fail: a finding with a third state does not validate', async () => {
    const doc = JSON.parse(formatReportOscal(buildReport([await measuredPolicy()], AT, 'file'))) as Record<
      string,
      any
    >;
    doc['assessment-results'].results[0].findings[0].target.status.state = 'unknown';
    assert.equal(validateOscal(doc), false);
  });

  it('reads the List that kubectl get acp -o yaml prints and writes the four files, exit 1 on a failing control', async () => {
    const text = stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [await measuredPolicy(), { kind: 'Pod' }],
    });
    const read = policiesFromFiles([{ name: 'acp.yaml', text }]);
    assert.equal(read.policies.length, 1);
    const out = runReport(read.policies, {
      format: 'json',
      outDir: 'out',
      now: new Date(AT),
      source: 'acp.yaml',
    });
    assert.deepEqual(Object.keys(out.files).sort(), Object.values(REPORT_FILES).sort());
    assert.equal(validateOscal(JSON.parse(out.files[REPORT_FILES.oscal] ?? '{}')), true);
    assert.equal(out.result.exitCode, 1);
  });

  it('fails when there is no policy to report', () =>
    assert.equal(
      runReport([], { format: 'json', outDir: undefined, now: new Date(AT), source: 'x' }).result.exitCode,
      1,
    ));

  it('makes tokens and v5 UUIDs OSCAL accepts', () => {
    assert.equal(controlToken('HIPAA', '164.312(a)(1)'), 'hipaa_164.312_a__1_');
    assert.match(uuid5('x'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(uuid5('x'), uuid5('x'));
  });
});
