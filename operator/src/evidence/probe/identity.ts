// The operator's own probe identity: a client certificate from the mesh CA
// with the SPIFFE ID spiffe://<td>/ns/<operator ns>/sa/acp-prober, held in
// memory only (never written to a Secret), issued on first use and again
// when the signing CA changes or half its lifetime has passed. Every
// compiled config names it in mtls.probePeers, so sidecars complete its
// handshakes (the evidence) and refuse its requests (403
// ACP_ERR_PEER_IS_PROBE): it needs no grant and opens no path to an app.
import { PROBE_SERVICE_ACCOUNT, spiffeId } from '@acp/crds';
import type { CaSnapshot } from '../../identity/ca-state.ts';
import type { ProbeIdentity } from './workload.ts';

export const PROBE_LIFETIME_MS = 3_600_000;

export function probeSpiffeId(trustDomain: string, operatorNamespace: string): string {
  return spiffeId(trustDomain, operatorNamespace, PROBE_SERVICE_ACCOUNT);
}

export interface ProbeIdentitySource {
  /** The identity to probe with now; undefined while no CA can issue. */
  current(snapshot: CaSnapshot, now: Date): Promise<ProbeIdentity | undefined>;
}

export function probeIdentitySource(id: string, backdateMs: number): ProbeIdentitySource {
  let held: { identity: ProbeIdentity; signer: string; renewAt: number } | undefined;
  return {
    async current(snapshot, now) {
      if (!snapshot.ready || !snapshot.signer) return undefined;
      const caPem = snapshot.bundleRootsPem.join('');
      if (held && held.signer === snapshot.signerFingerprint && now.getTime() < held.renewAt)
        return { ...held.identity, caPem };
      const issued = await snapshot.signer.issue({
        uriSans: [id],
        keyAlgorithm: 'ECDSA-P256',
        lifetimeMs: PROBE_LIFETIME_MS,
        backdateMs,
        usages: ['clientAuth'],
        now,
      });
      const identity = {
        certPem: [issued.certPem, ...snapshot.signer.chainPem].join(''),
        keyPem: issued.keyPem,
        caPem,
      };
      held = { identity, signer: snapshot.signerFingerprint, renewAt: now.getTime() + PROBE_LIFETIME_MS / 2 };
      return identity;
    },
  };
}
