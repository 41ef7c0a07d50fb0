// What a resumed TLS session must still pass. OpenSSL resumes a session
// without verifying the client certificate again: the session carries the
// certificate and the verify result of its first handshake. Sessions of an
// older trust bundle, certificate or peer policy are not resumed at all
// (options.ts binds tickets and session ids to the session generation), and
// allowedPeers is checked per request against the policy in force
// (layers/peer.ts); this checks the rest per connection: a certificate that
// has expired (or is not yet valid) since the session began is refused, and
// so is a session without a client certificate when Strict mode requires
// one. Pure over X509Certificate and a clock.
import type { X509Certificate } from 'node:crypto';
import type { TlsCode } from '../codes.ts';

/** The reason a resumed session is refused, or null when it may go on. */
export function resumedSessionRefusal(
  cert: X509Certificate | undefined,
  strict: boolean,
  nowMs: number,
): TlsCode | null {
  if (!cert) return strict ? 'ACP_ERR_TLS_NO_CLIENT_CERT' : null;
  if (nowMs < Date.parse(cert.validFrom)) return 'ACP_ERR_PEER_CERT_NOT_YET_VALID';
  if (nowMs >= Date.parse(cert.validTo)) return 'ACP_ERR_PEER_CERT_EXPIRED';
  return null;
}
