// Validates a certificate authority before anything is issued from it:
// the operator's own root (read back from its Secret) or a CA the user
// names (e.g. an intermediate from their corporate CA or cert-manager).
// Checks: CA:true, keyCertSign, within validity, key matches certificate,
// supported key type, chain to the roots it carries. Pure; `now` is a
// parameter. Never puts key material in an error.
import type { X509Certificate } from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import { KEY_USAGE, pemToDer, readKeyUsage } from './template.ts';
import { AcpError } from '@acp/crds';
import { keyAlgorithmOf, type KeyAlgorithm } from './keys.ts';
import { buildChain, parseCertificates, signedBy, splitPemCertificates } from './pem.ts';

export interface CaMaterial {
  /** The signing CA certificate. */
  certPem: string;
  keyPem: string;
  keyAlgorithm: KeyAlgorithm;
  /** The signing CA and intermediates up to (excluding) the root; empty when the CA is itself a root. Goes after the leaf in tls.crt. */
  chainPem: string[];
  /** The trusted roots (the CA itself when self-signed). */
  rootsPem: string[];
  notBefore: Date;
  notAfter: Date;
  /** sha256 fingerprint of the signing CA certificate. */
  fingerprint: string;
}

export interface CaSource {
  /** tls.crt: the CA certificate, optionally followed by intermediates. */
  certPem: string;
  /** tls.key */
  keyPem: string;
  /** ca.crt: roots (optional when the CA is self-signed). */
  rootsPem?: string;
}

const invalid = (message: string): AcpError => new AcpError('ACP_ERR_CA_INVALID', message);

function keyUsageAllowsSigning(pem: string): boolean {
  const ku = readKeyUsage(pemToDer(pem));
  return ku !== undefined && (ku & KEY_USAGE.keyCertSign) !== 0;
}

function checkKey(cert: X509Certificate, keyPem: string): KeyAlgorithm {
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw invalid('tls.key is not a PEM private key');
  }
  if (!cert.checkPrivateKey(key)) throw invalid('tls.key does not match the CA certificate in tls.crt');
  try {
    return keyAlgorithmOf(keyPem);
  } catch (e) {
    throw invalid(`tls.key: ${(e as Error).message}; use ECDSA P-256/P-384 or RSA 2048/3072/4096`);
  }
}

/** Validates a CA and returns what the Signer and the trust bundle need, or throws ACP_ERR_CA_INVALID. */
export function validateCa(source: CaSource, now: Date): CaMaterial {
  const certs = parseCertificates(source.certPem, 'tls.crt');
  const [ca, ...intermediates] = certs;
  if (!ca) throw invalid('tls.crt holds no certificate');
  const caPem = splitPemCertificates(source.certPem)[0] ?? '';
  const canSign = keyUsageAllowsSigning(caPem);
  if (!ca.ca && !canSign && readKeyUsage(pemToDer(caPem)) !== undefined) {
    throw invalid(`the CA certificate lacks the keyCertSign key usage: ${ca.subject}`);
  }
  if (!ca.ca) throw invalid(`tls.crt is not a CA certificate (basicConstraints CA:false): ${ca.subject}`);
  if (!canSign) throw invalid(`the CA certificate lacks the keyCertSign key usage: ${ca.subject}`);
  if (now < ca.validFromDate) throw invalid(`the CA certificate is not valid before ${ca.validFrom}`);
  if (now > ca.validToDate) throw invalid(`the CA certificate expired on ${ca.validTo}`);
  const keyAlgorithm = checkKey(ca, source.keyPem);

  const selfSigned = signedBy(ca, ca);
  const roots = source.rootsPem ? parseCertificates(source.rootsPem, 'ca.crt') : [];
  if (!selfSigned && roots.length === 0) {
    throw invalid('the CA is not self-signed and ca.crt carries no root to chain it to');
  }
  const trust = selfSigned ? [ca, ...roots.filter((r) => r.fingerprint256 !== ca.fingerprint256)] : roots;
  for (const r of trust)
    if (!r.ca) throw invalid(`ca.crt holds a certificate that is not a CA: ${r.subject}`);
  const path = buildChain(ca, intermediates, trust);
  if (!path) throw invalid('the CA certificate does not chain to any root in ca.crt');
  for (const c of path.slice(1)) {
    if (now > c.validToDate)
      throw invalid(`a certificate in the CA chain expired on ${c.validTo}: ${c.subject}`);
  }
  const chainPem = path.filter((c) => !trust.includes(c)).map((c) => c.toString());
  return {
    certPem: caPem,
    keyPem: source.keyPem,
    keyAlgorithm,
    chainPem,
    rootsPem: trust.map((r) => r.toString()),
    notBefore: ca.validFromDate,
    notAfter: ca.validToDate,
    fingerprint: ca.fingerprint256,
  };
}
