// The caller's identity from its verified client certificate: the single
// URI SAN `spiffe://<trustDomain>/ns/<ns>/sa/<sa>`. Refuses a certificate
// with zero or several URI SANs, a SPIFFE ID hidden in a DNS SAN, another
// trust domain, a CA certificate used as a leaf, or one without the
// clientAuth extended key usage. Also the SAN-string parser (Node quotes
// values holding separators as JSON strings). Pure over X509Certificate.
import type { X509Certificate } from 'node:crypto';
import { parseWorkloadSpiffeId } from '@acp/crds/sidecar';
import type { TlsCode } from '../codes.ts';

export interface SanEntry {
  type: string;
  value: string;
}

/** Parses Node's `subjectAltName` string ("DNS:a, URI:spiffe://x, DNS:\"b,c\""). */
export function parseSubjectAltName(san: string | undefined): SanEntry[] {
  const out: SanEntry[] = [];
  if (!san) return out;
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon < 0) break;
    const type = san.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (san[colon + 1] === '"') {
      let j = colon + 2;
      while (j < san.length && san[j] !== '"') j += san[j] === '\\' ? 2 : 1;
      value = JSON.parse(san.slice(colon + 1, j + 1)) as string;
      next = san.indexOf(',', j + 1);
    } else {
      next = san.indexOf(', ', colon + 1);
      value = san.slice(colon + 1, next < 0 ? san.length : next);
    }
    out.push({ type, value });
    if (next < 0) break;
    i = next + 1;
    while (san[i] === ' ') i++;
  }
  return out;
}

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

export type PeerIdentityResult =
  { ok: true; spiffeId: string } | { ok: false; code: TlsCode; message: string };

/** Checks a verified leaf certificate and returns its SPIFFE ID, or the reason it is refused. */
export function peerIdentity(cert: X509Certificate, trustDomain: string): PeerIdentityResult {
  if (cert.ca) return { ok: false, code: 'ACP_ERR_PEER_CERT_IS_CA', message: 'leaf certificate is a CA' };
  const eku = cert.keyUsage;
  if (eku && !eku.includes(CLIENT_AUTH_OID)) {
    return {
      ok: false,
      code: 'ACP_ERR_PEER_CERT_NO_CLIENT_AUTH',
      message: 'no clientAuth extended key usage',
    };
  }
  if (!eku) {
    return {
      ok: false,
      code: 'ACP_ERR_PEER_CERT_NO_CLIENT_AUTH',
      message: 'no extended key usage extension',
    };
  }
  const sans = parseSubjectAltName(cert.subjectAltName);
  if (sans.some((s) => s.type === 'DNS' && s.value.toLowerCase().startsWith('spiffe:'))) {
    return { ok: false, code: 'ACP_ERR_PEER_CERT_SPIFFE_IN_DNS_SAN', message: 'SPIFFE ID in a DNS SAN' };
  }
  const uris = sans.filter((s) => s.type === 'URI');
  if (uris.length === 0) return { ok: false, code: 'ACP_ERR_PEER_CERT_NO_URI_SAN', message: 'no URI SAN' };
  if (uris.length > 1) {
    return { ok: false, code: 'ACP_ERR_PEER_CERT_MULTIPLE_URI_SANS', message: `${uris.length} URI SANs` };
  }
  const id = uris[0]?.value ?? '';
  const parsed = parseWorkloadSpiffeId(id);
  if (!parsed)
    return {
      ok: false,
      code: 'ACP_ERR_PEER_CERT_NOT_SPIFFE',
      message: 'URI SAN is not a workload SPIFFE ID',
    };
  if (parsed.trustDomain !== trustDomain) {
    return {
      ok: false,
      code: 'ACP_ERR_PEER_CERT_TRUST_DOMAIN',
      message: `trust domain ${parsed.trustDomain} is not ${trustDomain}`,
    };
  }
  return { ok: true, spiffeId: id };
}
