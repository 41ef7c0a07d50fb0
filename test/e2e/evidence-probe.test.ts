// End-to-end: the operator's prober (operator/src/evidence/probe) against
// REAL sidecar processes over real TLS, judged by the pure evidence model:
// a compliant sidecar passes every control; one forced to a weaker TLS
// setting (TLS 1.0 and a CBC suite accepted, config hash unchanged) fails
// 4.2.1; one running another config than the one compiled is drift; the
// prober's own requests never reach the app.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configHash, validatePolicy, type SidecarConfig } from '@acp/crds';
import { evaluateEvidence, type EvidenceReport } from '../../operator/src/evidence/index.ts';
import { probeWorkload } from '../../operator/src/evidence/probe/workload.ts';
import { aPolicy, withMtls, withProfiles } from '../../operator/src/testing/builders.ts';
import {
  makePki,
  startSidecar,
  CLIENT_ID,
  SERVER_ID,
  type Pki,
  type RunningSidecar,
} from './sidecar-support.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROBE_ID = 'spiffe://cluster.local/ns/acp-system/sa/acp-probe';
const WEAKEN = resolve(import.meta.dirname, 'weaken-tls.ts');
const policy = (() => {
  const v = validatePolicy(
    aPolicy(
      withProfiles('PCI-DSS-4.0'),
      withMtls({ mode: 'Strict', allowedPeers: [{ namespace: 'shop', serviceAccount: 'checkout' }] }),
    ),
  );
  assert.ok(v.ok);
  return v.value;
})();

const compliant = (c: SidecarConfig): void => {
  c.mtls.allowedPeers = [CLIENT_ID];
  c.mtls.probePeers = [PROBE_ID];
  c.audit.includeHeaders = ['x-request-id', 'x-forwarded-for'];
};

async function measure(s: RunningSidecar, pki: Pki, compiled: SidecarConfig): Promise<EvidenceReport> {
  const probe = pki.pki.workload('probe', PROBE_ID);
  const o = await probeWorkload(
    {
      pod: 'payments-1',
      namespace: 'shop',
      serviceAccount: 'payments',
      host: '127.0.0.1',
      inboundPort: s.ports.inbound,
      adminPort: s.ports.admin,
      config: compiled,
    },
    {
      identity: { certPem: probe.cert, keyPem: probe.key, caPem: pki.ca.cert },
      timeoutMs: 10_000,
      now: () => new Date(),
      fetch,
    },
  );
  return evaluateEvidence({
    policy,
    compiled,
    expected: {
      configHash: configHash(compiled),
      sidecarVersion: '0.1.0',
      spiffeId: () => SERVER_ID,
      hsts: compiled.tls.hsts.header,
    },
    observations: [o],
    now: new Date(),
  });
}

const status = (r: EvidenceReport, id: string): string | undefined =>
  r.controls.find((c) => c.id === id)?.status;

describe('evidence e2e: the prober against running sidecars', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acp-evidence-e2e-'));
  const pki = makePki(join(dir, 'pki'));
  const running: RunningSidecar[] = [];
  const start = async (...a: Parameters<typeof startSidecar>): Promise<RunningSidecar> => {
    const s = await startSidecar(a[0], { ...a[1], pki });
    running.push(s);
    return s;
  };
  after(async () => {
    await Promise.all(running.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  describe('a compliant sidecar', () => {
    let s: RunningSidecar;
    let r: EvidenceReport;
    before(async () => {
      s = await start(compliant);
      r = await measure(s, pki, s.config);
    });
    it('passes every control of the profile', () =>
      assert.deepEqual(
        r.controls.filter((c) => c.status !== 'Pass').map((c) => `${c.id}: ${c.evidence}`),
        [],
      ));
    it('refuses TLS 1.0 and 1.1 and every forbidden suite, and a handshake without a client certificate', () => {
      const w = r.workloads[0];
      assert.equal(w?.status, 'Pass');
      assert.match(
        w?.evidence ?? '',
        /TLSv1 refused, TLSv1\.1 refused, TLSv1\.2 accepted, TLSv1\.3 accepted/,
      );
      assert.match(w?.evidence ?? '', /refused: .*TLS_AES_128_GCM_SHA256.*ECDHE-ECDSA-AES128-SHA/);
      assert.match(w?.evidence ?? '', /handshake without client certificate refused/);
    });
    it('reports the served identity and the config in force', () => {
      assert.equal(r.workloads[0]?.spiffeId, SERVER_ID);
      assert.equal(r.workloads[0]?.configHash, configHash(s.config));
    });
    it('never lets a probe request reach the app', () => assert.equal(s.app.requests.length, 0));
  });

  it('fails 4.2.1 on a sidecar forced to a weaker TLS setting, though its config hash is the compiled one', async () => {
    const s = await start(compliant, { nodeArgs: ['--import', WEAKEN] });
    const r = await measure(s, pki, s.config);
    assert.equal(r.workloads[0]?.drift.length, 0);
    assert.equal(status(r, '4.2.1'), 'Fail');
    assert.match(
      r.controls.find((c) => c.id === '4.2.1')?.evidence ?? '',
      /minVersion TLSv1 allows protocols older/,
    );
  });

  it('reports drift when the sidecar runs another config than the one compiled', async () => {
    const s = await start(compliant);
    const compiled = structuredClone(s.config);
    compiled.limits.maxRequestBytes += 1;
    const r = await measure(s, pki, compiled);
    assert.deepEqual(
      r.workloads[0]?.drift.map((d) => d.code),
      ['ACP_ERR_EVIDENCE_STALE_CONFIG'],
    );
    assert.equal(status(r, '4.2.1'), 'Fail');
  });

  it('passes a sidecar run with --workers 2: its primary reports the config every worker has in force', async () => {
    const s = await start(compliant, { args: ['--workers', '2'] });
    const r = await measure(s, pki, s.config);
    assert.equal(r.workloads[0]?.status, 'Pass', r.workloads[0]?.evidence);
    assert.equal(r.workloads[0]?.configHash, configHash(s.config));
  });

  it('is Unknown, not Fail, when the sidecar cannot be reached', async () => {
    const s = await start(compliant);
    const ports = { ...s.ports };
    await s.stop();
    running.splice(running.indexOf(s), 1);
    const r = await measure({ ...s, ports }, pki, s.config);
    assert.equal(r.workloads[0]?.status, 'Unknown');
    assert.equal(status(r, '4.2.1'), 'Unknown');
  });
});
