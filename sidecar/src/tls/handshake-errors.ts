// Classifies a failed TLS handshake (Node's tlsClientError) into a stable
// reason code for the metric and the audit record. Pure.
import type { TlsCode } from '../codes.ts';

export function handshakeFailureCode(e: Error & { code?: string; reason?: string }): TlsCode {
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
