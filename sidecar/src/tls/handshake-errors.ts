// Classifies a refused TLS handshake into a stable reason code for the
// metric and the audit record: the handshake error Node reports
// (tlsClientError / clientError), and, when the client certificate was the
// cause, OpenSSL's verify error (Node's `authorizationError`, e.g.
// CERT_HAS_EXPIRED) mapped to the cause it names: expired, not yet valid,
// unknown issuer, self-signed, bad signature, wrong key usage, bad chain,
// malformed. A verify error not in the table is ACP_ERR_TLS_BAD_CLIENT_CERT.
// Pure.
import type { TlsCode } from '../codes.ts';

/** OpenSSL's X509_V_ERR_* names as Node reports them (without the prefix) -> reason code. */
export const VERIFY_ERROR_CODES: ReadonlyMap<string, TlsCode> = new Map<string, TlsCode>([
  ['CERT_HAS_EXPIRED', 'ACP_ERR_PEER_CERT_EXPIRED'],
  ['CERT_NOT_YET_VALID', 'ACP_ERR_PEER_CERT_NOT_YET_VALID'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'ACP_ERR_PEER_CERT_UNKNOWN_ISSUER'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ACP_ERR_PEER_CERT_UNKNOWN_ISSUER'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ACP_ERR_PEER_CERT_UNKNOWN_ISSUER'],
  ['CERT_UNTRUSTED', 'ACP_ERR_PEER_CERT_UNKNOWN_ISSUER'],
  // The chain the client sent ends at a root that is not in ca.crt.
  ['SELF_SIGNED_CERT_IN_CHAIN', 'ACP_ERR_PEER_CERT_UNKNOWN_ISSUER'],
  // The leaf signs itself.
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'ACP_ERR_PEER_CERT_SELF_SIGNED'],
  ['CERT_SIGNATURE_FAILURE', 'ACP_ERR_PEER_CERT_BAD_SIGNATURE'],
  ['UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'ACP_ERR_PEER_CERT_BAD_SIGNATURE'],
  ['UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'ACP_ERR_PEER_CERT_BAD_SIGNATURE'],
  ['INVALID_PURPOSE', 'ACP_ERR_PEER_CERT_KEY_USAGE'],
  ['KEYUSAGE_NO_CERTSIGN', 'ACP_ERR_PEER_CERT_KEY_USAGE'],
  ['KEYUSAGE_NO_DIGITAL_SIGNATURE', 'ACP_ERR_PEER_CERT_KEY_USAGE'],
  ['INVALID_CA', 'ACP_ERR_PEER_CERT_BAD_CHAIN'],
  ['PATH_LENGTH_EXCEEDED', 'ACP_ERR_PEER_CERT_BAD_CHAIN'],
  ['CERT_CHAIN_TOO_LONG', 'ACP_ERR_PEER_CERT_BAD_CHAIN'],
  ['ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ACP_ERR_PEER_CERT_MALFORMED'],
  ['ERROR_IN_CERT_NOT_AFTER_FIELD', 'ACP_ERR_PEER_CERT_MALFORMED'],
  ['UNHANDLED_CRITICAL_EXTENSION', 'ACP_ERR_PEER_CERT_MALFORMED'],
  ['INVALID_EXTENSION', 'ACP_ERR_PEER_CERT_MALFORMED'],
]);

/** The reason for a client certificate that failed verification, from Node's `authorizationError`. */
export function verifyErrorCode(authorizationError: unknown): TlsCode {
  const name = typeof authorizationError === 'string' ? authorizationError : '';
  return VERIFY_ERROR_CODES.get(name) ?? 'ACP_ERR_TLS_BAD_CLIENT_CERT';
}

/**
 * The reason for a failed handshake. `authorizationError` is the socket's
 * verify error when there is one: Node completes the handshake and then
 * closes a connection whose certificate failed verification, so that error,
 * not the (generic) socket error, names the cause.
 */
export function handshakeFailureCode(
  e: Error & { code?: string; reason?: string },
  authorizationError?: unknown,
): TlsCode {
  if (typeof authorizationError === 'string' && authorizationError !== '') {
    return verifyErrorCode(authorizationError);
  }
  const text = `${e.code ?? ''} ${e.reason ?? ''} ${e.message}`.toLowerCase();
  if (
    text.includes('unsupported protocol') ||
    text.includes('wrong version') ||
    text.includes('version too low')
  ) {
    return 'ACP_ERR_TLS_PROTOCOL_VERSION';
  }
  if (text.includes('no shared cipher') || text.includes('no suitable') || text.includes('no cipher')) {
    return 'ACP_ERR_TLS_NO_SHARED_CIPHER';
  }
  if (text.includes('did not return a certificate') || text.includes('peer_did_not_return')) {
    return 'ACP_ERR_TLS_NO_CLIENT_CERT';
  }
  if (text.includes('certificate') || text.includes('unknown ca') || text.includes('verify')) {
    return 'ACP_ERR_TLS_BAD_CLIENT_CERT';
  }
  return 'ACP_ERR_TLS_HANDSHAKE';
}
