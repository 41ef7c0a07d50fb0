// Reads the serving Secret into the planner's state (and the PEM material
// the manager needs), and writes material back into Secret data. The
// Secret (type kubernetes.io/tls) holds tls.crt/tls.key (served),
// ca.crt (the CA bundle published as caBundle), signer.crt/signer.key
// (the CA that issues the next leaf), and two annotations: when the signer
// was first seen published, and when old CAs may be retired. No I/O.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { splitPemCertificates } from '@acp/pki';
import type { CertInfo, LeafInfo, ServingState } from './plan.ts';

export const KEYS = {
  cert: 'tls.crt',
  key: 'tls.key',
  bundle: 'ca.crt',
  signerCert: 'signer.crt',
  signerKey: 'signer.key',
} as const;
export const PUBLISHED_ANNOTATION = 'acp.dev/signer-published';
export const RETIRE_ANNOTATION = 'acp.dev/retire-old-cas-after';

export interface StoredSecret {
  resourceVersion?: string;
  /** Decoded (UTF-8) data. */
  data: Record<string, string>;
  annotations: Record<string, string>;
}

export interface Material {
  state: ServingState;
  /** PEM of every bundle CA by fingerprint, in bundle order. */
  bundlePems: Map<string, string>;
}

function info(cert: X509Certificate): CertInfo {
  return { fingerprint: cert.fingerprint256, notBefore: cert.validFromDate, notAfter: cert.validToDate };
}

function parse(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, keyPem: string | undefined): boolean {
  if (!keyPem) return false;
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** `DNS:x` / `IP:x`, sorted, from a certificate's subjectAltName. */
export function sansOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter(Boolean)
    .map((s) => s.replace(/^IP Address:/, 'IP:'))
    .sort();
}

function date(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function readSecret(secret: StoredSecret | undefined): Material {
  const data = secret?.data ?? {};
  const bundlePems = new Map<string, string>();
  const bundleCerts: X509Certificate[] = [];
  for (const pem of splitPemCertificates(data[KEYS.bundle] ?? '')) {
    const c = parse(pem);
    if (c?.ca && !bundlePems.has(c.fingerprint256)) {
      bundlePems.set(c.fingerprint256, pem);
      bundleCerts.push(c);
    }
  }
  const signerCert = parse(data[KEYS.signerCert]);
  const signer =
    signerCert?.ca && keyMatches(signerCert, data[KEYS.signerKey]) ? info(signerCert) : undefined;
  const leafCert = parse(data[KEYS.cert]);
  let leaf: LeafInfo | undefined;
  if (leafCert && !leafCert.ca && keyMatches(leafCert, data[KEYS.key])) {
    const issuer = bundleCerts.find((ca) => leafCert.checkIssued(ca) && leafCert.verify(ca.publicKey));
    leaf = { ...info(leafCert), issuer: issuer?.fingerprint256, sans: sansOf(leafCert) };
  }
  const [fp, at] = (secret?.annotations[PUBLISHED_ANNOTATION] ?? '').split(' ');
  return {
    state: {
      signer,
      leaf,
      bundle: bundleCerts.map(info),
      signerPublishedAt: signer && fp === signer.fingerprint ? date(at) : undefined,
      retireAfter: date(secret?.annotations[RETIRE_ANNOTATION]),
    },
    bundlePems,
  };
}

/** The fingerprints of the CAs in a PEM bundle (a published caBundle). */
export function bundleFingerprints(pem: string): Set<string> {
  return new Set(
    splitPemCertificates(pem)
      .map(parse)
      .filter((c): c is X509Certificate => c !== undefined)
      .map((c) => c.fingerprint256),
  );
}
