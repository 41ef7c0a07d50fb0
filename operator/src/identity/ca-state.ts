// What the CA controller decided, shared with the controllers that issue
// and distribute certificates: which CA signs now, which issuers' leaves
// are still accepted, and the roots every trust bundle must hold. Also the
// persisted record (ConfigMap acp-ca-state) that lets a restart resume a
// rotation and keep retired roots trusted until their leaves expire.
import { X509Certificate } from 'node:crypto';
import type { Signer } from '@acp/pki';
import type { RotationState } from './rotation.ts';

export interface CaSnapshot {
  /** False while no valid CA is available: nothing is issued. */
  ready: boolean;
  reason: string;
  message: string;
  signer: Signer | undefined;
  signerFingerprint: string;
  /** Certificates whose signatures on leaves are accepted (signing CAs, current and retiring). */
  trustedIssuers: X509Certificate[];
  /** Every root a trust bundle must carry, PEM, sorted by fingerprint. */
  bundleRootsPem: string[];
  bundleFingerprints: string[];
  /** The fingerprint of the incoming root during a rotation. */
  rotatingTo: string | undefined;
}

export const EMPTY_SNAPSHOT: CaSnapshot = {
  ready: false,
  reason: 'CAPending',
  message: 'the mesh CA is not loaded yet',
  signer: undefined,
  signerFingerprint: '',
  trustedIssuers: [],
  bundleRootsPem: [],
  bundleFingerprints: [],
  rotatingTo: undefined,
};

export interface RetiringCa {
  fingerprint: string;
  /** The issuing certificate (may be an intermediate). */
  certPem: string;
  rootsPem: string[];
  /** Leaves of this CA are accepted until then. */
  until: string;
}

/** The persisted CA record (acp-ca-state ConfigMap, key state.json). */
export interface CaRecord {
  current?: string;
  currentCertPem?: string;
  currentRootsPem?: string[];
  rotation?: RotationState | undefined;
  retiring: RetiringCa[];
  expiryWarnedFor?: string;
}

export function parseRecord(json: string | undefined): CaRecord {
  if (!json) return { retiring: [] };
  try {
    const r = JSON.parse(json) as CaRecord;
    return { ...r, retiring: Array.isArray(r.retiring) ? r.retiring : [] };
  } catch {
    return { retiring: [] };
  }
}

export interface SigningCa {
  certPem: string;
  rootsPem: string[];
  fingerprint: string;
  signer: Signer;
}

/** Builds the snapshot from the current CA, an optional incoming CA and retiring ones (expired entries dropped). */
export function buildSnapshot(
  current: SigningCa,
  next: SigningCa | undefined,
  issuing: 'current' | 'next',
  retiring: readonly RetiringCa[],
  now: Date,
): CaSnapshot {
  const live = retiring.filter((r) => Date.parse(r.until) > now.getTime());
  const issuers = new Map<string, X509Certificate>();
  const roots = new Map<string, string>();
  for (const ca of [current, ...(next ? [next] : []), ...live]) {
    const cert = new X509Certificate(ca.certPem);
    issuers.set(cert.fingerprint256, cert);
    for (const r of ca.rootsPem) roots.set(new X509Certificate(r).fingerprint256, r);
  }
  const signing = issuing === 'next' && next ? next : current;
  const sortedRoots = [...roots.entries()].sort(([a], [b]) => a.localeCompare(b));
  return {
    ready: true,
    reason: 'CAReady',
    message: `issuing from ${signing.fingerprint.slice(0, 23)}`,
    signer: signing.signer,
    signerFingerprint: signing.fingerprint,
    trustedIssuers: [...issuers.values()],
    bundleRootsPem: sortedRoots.map(([, pem]) => pem),
    bundleFingerprints: sortedRoots.map(([fp]) => fp),
    rotatingTo: next?.fingerprint,
  };
}
