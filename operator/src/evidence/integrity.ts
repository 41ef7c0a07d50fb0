// Whether what runs in one pod is what the operator compiled and issued:
// the injected sidecar, the compiled config hash, the expected sidecar
// version, the workload's own SPIFFE identity in a certificate that chains
// to the mesh CA and has not expired, and the compiled HSTS header on its
// answers. Every problem is a typed finding with a stable code (the code is
// the reason of the Warning Event that names the pod). Pure.
import type { WorkloadObservation } from './observation.ts';

export const DRIFT_CODES = [
  'ACP_ERR_EVIDENCE_NOT_INJECTED',
  'ACP_ERR_EVIDENCE_STALE_CONFIG',
  'ACP_ERR_EVIDENCE_OLD_SIDECAR',
  'ACP_ERR_EVIDENCE_WRONG_IDENTITY',
  'ACP_ERR_EVIDENCE_CERT_UNTRUSTED',
  'ACP_ERR_EVIDENCE_CERT_EXPIRED',
  'ACP_ERR_EVIDENCE_HSTS',
] as const;
export type DriftCode = (typeof DRIFT_CODES)[number];

export interface Drift {
  code: DriftCode;
  message: string;
}

/** What the operator compiled and issued, that a workload must run. */
export interface Expected {
  configHash: string;
  sidecarVersion: string;
  /** The SPIFFE ID the operator issues to a service account. */
  spiffeId: (serviceAccount: string) => string;
  /** The exact Strict-Transport-Security value of the compiled config. */
  hsts: string;
}

const short = (hash: string): string => hash.slice(0, 12);

/** Every way the measured workload differs from what was compiled and issued (empty: none). */
export function workloadDrift(o: WorkloadObservation, expected: Expected, now: Date): Drift[] {
  if (!o.injected)
    return [
      {
        code: 'ACP_ERR_EVIDENCE_NOT_INJECTED',
        message: `pod ${o.pod} is selected but runs without the injected sidecar: its traffic is not protected`,
      },
    ];
  const out: Drift[] = [];
  const s = o.sidecar;
  if (s && s.configHash !== expected.configHash)
    out.push({
      code: 'ACP_ERR_EVIDENCE_STALE_CONFIG',
      message: `pod ${o.pod} runs config ${short(s.configHash) || '(none)'}, compiled is ${short(expected.configHash)}`,
    });
  if (s && s.version !== expected.sidecarVersion)
    out.push({
      code: 'ACP_ERR_EVIDENCE_OLD_SIDECAR',
      message: `pod ${o.pod} runs sidecar ${s.version || '(unknown)'}, expected ${expected.sidecarVersion}`,
    });
  const c = o.tls?.certificate;
  const want = expected.spiffeId(o.serviceAccount);
  if (c && c.spiffeId !== want)
    out.push({
      code: 'ACP_ERR_EVIDENCE_WRONG_IDENTITY',
      message: `pod ${o.pod} serves ${c.spiffeId || 'no SPIFFE ID'}, issued identity is ${want}`,
    });
  if (c && !c.trusted)
    out.push({
      code: 'ACP_ERR_EVIDENCE_CERT_UNTRUSTED',
      message: `pod ${o.pod} serves a certificate that does not chain to the mesh CA`,
    });
  if (c && Date.parse(c.notAfter) <= now.getTime())
    out.push({
      code: 'ACP_ERR_EVIDENCE_CERT_EXPIRED',
      message: `pod ${o.pod} serves a certificate that expired at ${c.notAfter}`,
    });
  if (o.tls && o.tls.hsts !== expected.hsts)
    out.push({
      code: 'ACP_ERR_EVIDENCE_HSTS',
      message: `pod ${o.pod} answers with Strict-Transport-Security ${o.tls.hsts === null ? 'absent' : JSON.stringify(o.tls.hsts)}, compiled is ${JSON.stringify(expected.hsts)}`,
    });
  return out;
}
