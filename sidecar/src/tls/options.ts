// The inbound listener's TLS settings from a config snapshot and the
// credentials in force: minimum version and AEAD suites from the config,
// ECDHE groups X25519/P-256/P-384 only, renegotiation off, compression off,
// session tickets (keys from ticket-keys.ts) and a session cache for
// resumption, client certificates requested (Strict: required and
// verified; Permissive: optional, verified when present). Pure.
import { constants } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import type { SidecarConfig } from '@acp/crds/sidecar';
import type { Credentials } from './credentials.ts';

export const ECDH_GROUPS = 'X25519:P-256:P-384';

export interface ListenerTlsOptions extends SecureContextOptions {
  requestCert: true;
  rejectUnauthorized: boolean;
}

export function cipherString(tls: SidecarConfig['tls']): string {
  const suites =
    tls.minVersion === 'TLSv1.3'
      ? tls.tls13CipherSuites
      : [...tls.tls13CipherSuites, ...tls.tls12CipherSuites];
  return suites.join(':');
}

export function listenerTlsOptions(
  config: SidecarConfig,
  creds: Credentials,
  ticketKeys: Buffer,
): ListenerTlsOptions {
  return {
    key: creds.files.key,
    cert: creds.files.cert,
    ca: creds.files.ca,
    minVersion: config.tls.minVersion,
    maxVersion: 'TLSv1.3',
    ciphers: cipherString(config.tls),
    ecdhCurve: ECDH_GROUPS,
    honorCipherOrder: true,
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_COMPRESSION,
    sessionTimeout: 300,
    ticketKeys,
    requestCert: true,
    rejectUnauthorized: config.mtls.mode === 'Strict',
  };
}
