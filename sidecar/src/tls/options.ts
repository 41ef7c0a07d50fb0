// The inbound listener's TLS settings from a config snapshot and the
// credentials in force: minimum version and AEAD suites from the config,
// ECDHE groups X25519/P-256/P-384 only, renegotiation off, compression off,
// session tickets and a session cache for resumption, client certificates
// requested (Strict: required and verified; Permissive: optional, verified
// when presented). Resumption is bound to the session generation: a hash of
// everything that decides whether a caller's session is acceptable (trust
// bundle, own certificate and key, trust domain, mTLS mode and
// allowedPeers, TLS settings). Its change gives a new ticket key and a new
// session id context, so sessions and tickets issued before are refused
// (the client does a full handshake against the new material). Pure.
import { constants, createHash } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import type { SidecarConfig } from '@acp/crds/sidecar';
import type { Credentials } from './credentials.ts';
import { boundTicketKey } from './ticket-keys.ts';

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

/** The session generation: equal exactly when a session taken under one is acceptable under the other. */
export function sessionGeneration(config: SidecarConfig, creds: Credentials): string {
  const policy = JSON.stringify({
    trustDomain: config.trustDomain,
    mode: config.mtls.mode,
    allowedPeers: [...config.mtls.allowedPeers].sort(),
    tls: config.tls,
  });
  return createHash('sha256').update(creds.fingerprint).update('\0').update(policy).digest('hex');
}

/** The ticket key the listener installs for this snapshot (`base`: the rotated, shared key). */
export function sessionTicketKey(config: SidecarConfig, creds: Credentials, base: Buffer): Buffer {
  return boundTicketKey(base, sessionGeneration(config, creds));
}

export function listenerTlsOptions(
  config: SidecarConfig,
  creds: Credentials,
  ticketBaseKey: Buffer,
): ListenerTlsOptions {
  const generation = sessionGeneration(config, creds);
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
    ticketKeys: boundTicketKey(ticketBaseKey, generation),
    // At most 32 bytes (SSL_MAX_SID_CTX_LENGTH): a session cached under another generation is not resumed.
    sessionIdContext: generation.slice(0, 32),
    requestCert: true,
    rejectUnauthorized: config.mtls.mode === 'Strict',
  };
}
