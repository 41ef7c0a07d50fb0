// The caller side's check of the callee on the mesh leg, shared by the
// HTTP/1.1 proxy (outbound.ts) and the h2 tunnel terminator
// (outbound-h2.ts): the server's single URI SAN must be one of the
// destination's SPIFFE IDs (checkServerIdentity, so a refused identity
// fails the handshake before any request byte is sent), the identity a
// connection proved (read once per connection, for the audit), and the
// ACP_ERR_* code of a failed exchange. Pure apart from the per-socket cache.
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { AcpError } from '@acp/crds/sidecar';
import { parseSubjectAltName } from '../tls/peer-identity.ts';

/** The server's single URI SAN, or undefined. */
function serverIdentity(cert: PeerCertificate | undefined): string | undefined {
  const uris = parseSubjectAltName(cert?.subjectaltname).filter((s) => s.type === 'URI');
  return uris.length === 1 ? uris[0]?.value : undefined;
}

/** The identity a connection's server proved, read once per connection (getPeerCertificate is costly). */
const peers = new WeakMap<TLSSocket, string | undefined>();
export function peerOf(socket: TLSSocket): string | undefined {
  if (peers.has(socket)) return peers.get(socket);
  const id = serverIdentity(socket.getPeerCertificate());
  peers.set(socket, id);
  return id;
}

/** checkServerIdentity for mesh peers: the server's single URI SAN must be an expected SPIFFE ID. */
export function checkPeerServer(peers: readonly string[]) {
  return (_host: string, cert: PeerCertificate): Error | undefined => {
    const id = serverIdentity(cert);
    if (id !== undefined && peers.includes(id)) return undefined;
    return new AcpError(
      'ACP_ERR_EGRESS_PEER_MISMATCH',
      `server identity ${id ?? '(none)'} is not an expected peer`,
    );
  };
}

/** TLS verification failures of the callee (not the identity check): the code for the response and metrics. */
function tlsFailure(err: NodeJS.ErrnoException): boolean {
  const c = err.code ?? '';
  return c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_') || /CERT|SELF_SIGNED|UNABLE_TO/.test(c);
}

export interface Refusal {
  code: string;
  message: string;
}

/** The code and message of an exchange that failed before any answer. */
export function refusalOf(err: unknown, target: string): Refusal {
  const e = err as Error & { code?: string; cause?: unknown };
  const acp = e instanceof AcpError ? e : e.cause instanceof AcpError ? e.cause : null;
  if (acp) return { code: acp.code, message: acp.message };
  if (e.code === 'ACP_ERR_UPSTREAM_TIMEOUT' || e.code === 'ACP_ERR_CONNECT_TIMEOUT')
    return { code: 'ACP_ERR_UPSTREAM_TIMEOUT', message: `${target} did not answer in time` };
  if (tlsFailure(e))
    return { code: 'ACP_ERR_EGRESS_TLS', message: `mTLS to ${target} failed: ${e.code ?? e.message}` };
  return { code: 'ACP_ERR_UPSTREAM_UNAVAILABLE', message: `cannot reach ${target}: ${e.code ?? e.message}` };
}

/** Refusals that mean the callee's certificate or identity was refused (counted as mTLS failures). */
export function isMtlsFailure(code: string): boolean {
  return code === 'ACP_ERR_EGRESS_PEER_MISMATCH' || code === 'ACP_ERR_EGRESS_TLS';
}
