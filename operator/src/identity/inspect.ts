// Reads an identity Secret back and says whether it still holds what the
// operator wrote: a parseable certificate and key that match, exactly the
// expected SPIFFE ID, signed by a CA we trust, with the settings asked
// for. Anything else is tampering (or a change) and leads to reissue.
// Pure. Never returns key material.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { keyAlgorithmOfKey, signedBy, splitPemCertificates, type KeyAlgorithm } from '@acp/pki';
import type { Secret } from '@acp/kube';

export const ANNOTATIONS = {
  serial: 'acp.dev/serial',
  notAfter: 'acp.dev/not-after',
  renewAt: 'acp.dev/renew-at',
  keyAlgorithm: 'acp.dev/key-algorithm',
  lifetime: 'acp.dev/lifetime-ms',
  renewBefore: 'acp.dev/renew-before-ms',
  issuer: 'acp.dev/issuer-fingerprint',
  spiffeId: 'acp.dev/spiffe-id',
} as const;

export interface InspectedIdentity {
  spiffeIds: string[];
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
  keyAlgorithm: KeyAlgorithm;
  /** sha256 fingerprint of the CA (among those given) that signed the leaf, if any. */
  issuerFingerprint: string | undefined;
  annotations: Record<string, string>;
}

export type Inspection = { ok: true; value: InspectedIdentity } | { ok: false; problem: string };

const decode = (data: Record<string, string> | undefined, key: string): string | undefined => {
  const v = data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};

function uriSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

// Parsing certificates and keys is the costly part of every reconcile that
// looks at identities; a Secret's data only changes with its
// resourceVersion, so the result is kept per (uid, resourceVersion, CAs).
const memo = new Map<string, Inspection>();
const MEMO_LIMIT = 20_000;

/** Inspects tls.crt/tls.key of a Secret against the CAs that may have signed it (memoised). */
export function inspectIdentitySecret(secret: Secret, cas: readonly X509Certificate[]): Inspection {
  const rv = secret.metadata.resourceVersion;
  if (!rv) return inspectUncached(secret, cas);
  const key = `${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}@${rv}#${cas.map((c) => c.fingerprint256).join(',')}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const result = inspectUncached(secret, cas);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, result);
  return result;
}

function inspectUncached(secret: Secret, cas: readonly X509Certificate[]): Inspection {
  const certPem = decode(secret.data, 'tls.crt');
  const keyPem = decode(secret.data, 'tls.key');
  if (!certPem || !keyPem) return { ok: false, problem: 'tls.crt or tls.key is missing' };
  const [leafPem] = splitPemCertificates(certPem);
  let leaf: X509Certificate;
  let key;
  try {
    leaf = new X509Certificate(leafPem ?? '');
    key = createPrivateKey(keyPem);
  } catch {
    return { ok: false, problem: 'tls.crt or tls.key does not parse' };
  }
  if (!leaf.checkPrivateKey(key))
    return { ok: false, problem: 'tls.key does not match the certificate in tls.crt' };
  if (leaf.ca) return { ok: false, problem: 'the certificate is a CA certificate' };
  let keyAlgorithm: KeyAlgorithm;
  try {
    keyAlgorithm = keyAlgorithmOfKey(key);
  } catch {
    return { ok: false, problem: 'tls.key has an unsupported key type' };
  }
  const issuer = cas.find((ca) => signedBy(leaf, ca));
  return {
    ok: true,
    value: {
      spiffeIds: uriSans(leaf),
      notBefore: leaf.validFromDate,
      notAfter: leaf.validToDate,
      serialNumber: leaf.serialNumber.toLowerCase(),
      keyAlgorithm,
      issuerFingerprint: issuer?.fingerprint256,
      annotations: secret.metadata.annotations ?? {},
    },
  };
}
