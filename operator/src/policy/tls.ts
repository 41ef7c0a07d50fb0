// TLS names: the AEAD cipher suites the API accepts (OpenSSL/Node names and
// their IANA aliases), which TLS version each belongs to and what it is
// made of (for the compliance checks), Node's names of TLS versions, and
// the Strict-Transport-Security header. Pure.

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface CipherSuite {
  /** The OpenSSL/Node name the sidecar config carries. */
  openssl: string;
  /** The IANA (RFC) name, accepted in policies as an alias. */
  iana: string;
  version: TlsVersion;
  cipher: 'AES-256-GCM' | 'CHACHA20-POLY1305';
  /** Key exchange: ECDHE for TLS 1.2 suites; TLS 1.3 suites are always (EC)DHE. */
  keyExchange: 'ECDHE';
  /** The server certificate the suite needs (TLS 1.3 suites work with any). */
  authentication: 'ECDSA' | 'RSA' | 'any';
  aead: true;
}

const suite = (
  openssl: string,
  iana: string,
  version: TlsVersion,
  cipher: CipherSuite['cipher'],
  authentication: CipherSuite['authentication'],
): CipherSuite => ({ openssl, iana, version, cipher, keyExchange: 'ECDHE', authentication, aead: true });

export const CIPHER_SUITES: readonly CipherSuite[] = [
  suite('TLS_AES_256_GCM_SHA384', 'TLS_AES_256_GCM_SHA384', 'TLSv1.3', 'AES-256-GCM', 'any'),
  suite(
    'TLS_CHACHA20_POLY1305_SHA256',
    'TLS_CHACHA20_POLY1305_SHA256',
    'TLSv1.3',
    'CHACHA20-POLY1305',
    'any',
  ),
  suite(
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
    'TLSv1.2',
    'AES-256-GCM',
    'ECDSA',
  ),
  suite(
    'ECDHE-RSA-AES256-GCM-SHA384',
    'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    'TLSv1.2',
    'AES-256-GCM',
    'RSA',
  ),
  suite(
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
    'TLSv1.2',
    'CHACHA20-POLY1305',
    'ECDSA',
  ),
  suite(
    'ECDHE-RSA-CHACHA20-POLY1305',
    'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
    'TLSv1.2',
    'CHACHA20-POLY1305',
    'RSA',
  ),
];

/** A suite by its OpenSSL or IANA name. */
export function cipherSuite(name: string): CipherSuite | undefined {
  return CIPHER_SUITES.find((s) => s.openssl === name || s.iana === name);
}

/** The policy's TLS version names (TLS1.2) as Node names them (TLSv1.2). */
export function nodeTlsVersion(version: 'TLS1.2' | 'TLS1.3'): TlsVersion {
  return version === 'TLS1.3' ? 'TLSv1.3' : 'TLSv1.2';
}

export interface HstsSpec {
  maxAgeSeconds: number;
  includeSubDomains: boolean;
  preload: boolean;
}

/** The exact Strict-Transport-Security value (RFC 6797 section 6.1). */
export function hstsHeader(h: HstsSpec): string {
  return [
    `max-age=${h.maxAgeSeconds}`,
    h.includeSubDomains ? 'includeSubDomains' : '',
    h.preload ? 'preload' : '',
  ]
    .filter(Boolean)
    .join('; ');
}
