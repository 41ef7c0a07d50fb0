// Test builders for measured evidence: what a compliant sidecar shows the
// prober (every listed suite accepted, forbidden ones refused, TLS 1.0/1.1
// refused, no anonymous handshake, its own identity, the compiled HSTS and
// config hash).
import type { SidecarConfig } from '@acp/crds';
import type { WorkloadObservation } from '../evidence/observation.ts';

export const EVIDENCE_HASH = 'a'.repeat(64);

export function compliantObservation(
  c: SidecarConfig,
  pod = 'web-1',
  at = '2026-12-05T11:59:00Z',
  hash = EVIDENCE_HASH,
): WorkloadObservation {
  return {
    pod,
    namespace: 'shop',
    serviceAccount: 'web',
    at,
    injected: true,
    sidecar: { configHash: hash, version: '0.1.0' },
    tls: {
      versions: { TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true },
      suites: [
        ...c.tls.tls13CipherSuites.map((name) => ({ name, version: 'TLSv1.3' as const, accepted: true })),
        ...c.tls.tls12CipherSuites.map((name) => ({ name, version: 'TLSv1.2' as const, accepted: true })),
        { name: 'TLS_AES_128_GCM_SHA256', version: 'TLSv1.3', accepted: false },
        { name: 'ECDHE-ECDSA-AES128-SHA', version: 'TLSv1.2', accepted: false },
      ],
      anonymousServed: false,
      certificate: {
        spiffeId: 'spiffe://cluster.local/ns/shop/sa/web',
        notAfter: '2026-12-06T00:00:00Z',
        trusted: true,
        fingerprint: 'AA',
      },
      hsts: c.tls.hsts.header,
      probeStatus: 403,
    },
  };
}
