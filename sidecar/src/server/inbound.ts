// The inbound mTLS listener (8443): an HTTPS server whose TLS settings come
// from the snapshot in force (swapped with setSecureContext on reload, so
// existing connections keep theirs), the caller's identity computed once
// per connection right after the handshake (a refused certificate closes
// the connection before any HTTP is read), then the HTTP/1.1 fast path
// (fast-http.ts; node:http alone with --no-http-fast-path) until a request
// needs node:http, whose own connection listener then takes the connection
// over; HTTP parser errors answered by the sidecar itself with HSTS (400,
// 408, 431), and each request handed to the composed pipeline with a fresh
// context.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Policy } from '../config/policy.ts';
import { acceptRequestId } from '../http/headers.ts';
import { scanRequestHeaders } from '../http/request-headers.ts';
import type { Metrics } from '../metrics.ts';
import type { AuditLog } from '../pipeline/audit.ts';
import type { ConnectionInfo, Handler, RequestContext } from '../pipeline/types.ts';
import type { Credentials } from '../tls/credentials.ts';
import { handshakeFailureCode } from '../tls/handshake-errors.ts';
import { listenerTlsOptions } from '../tls/options.ts';
import { FastConnection, type FastOptions, type FastRequest, type FastResponse } from './fast-http.ts';
import { peerIdentity } from '../tls/peer-identity.ts';

export interface InboundDeps {
  policy: () => Policy;
  credentials: () => Credentials;
  ticketKey: () => Buffer;
  handler: Handler;
  metrics: Metrics;
  audit: AuditLog;
  nowMs: () => number;
  /** True while the sidecar drains: fast-path responses close their connections. */
  draining: () => boolean;
  /** Connections start on the HTTP/1.1 fast path (fast-http.ts) instead of node:http. */
  fastPath: boolean;
}

export interface Inbound {
  readonly server: Server;
  /** Installs the TLS material and server limits of the current snapshot for new connections. */
  applySnapshot(): void;
  /** Closes the connections with no request in progress (node:http's and the fast path's). */
  closeIdleConnections(): void;
  /** Closes every connection. */
  closeAllConnections(): void;
}

function remoteAddress(socket: { remoteAddress?: string | undefined }): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

const KEEP_ALIVE_TIMEOUT_MS = 5000;

const PARSER_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'ACP_ERR_HEADERS_TOO_LARGE'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'ACP_ERR_REQUEST_TIMEOUT'],
  ERR_HTTP_HEADERS_TIMEOUT: [408, 'ACP_ERR_REQUEST_TIMEOUT'],
};

const REASON_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

export function createInbound(deps: InboundDeps): Inbound {
  const conns = new WeakMap<Duplex, ConnectionInfo>();
  /** What the connection's requests share; its close reaches every request still waiting for the app. */
  const connectionInfo = (socket: Duplex, peerId: string | undefined, address: string): ConnectionInfo => {
    const info: ConnectionInfo = { peerId, remoteAddress: address, inFlight: new Set() };
    conns.set(socket, info);
    socket.once('close', () => {
      for (const r of info.inFlight) r.clientClosed();
    });
    return info;
  };
  const connRecord = (
    socket: { remoteAddress?: string | undefined },
    status: number,
    reason: string,
    peer?: string,
  ): void => {
    if (!deps.policy().config.audit.enabled) return;
    deps.audit.record({
      client: remoteAddress(socket),
      peer: peer ?? null,
      status,
      decision: 'deny',
      reason,
    });
  };

  // The fast path's request and response carry the members of IncomingMessage and ServerResponse
  // the layers use for a bodiless request (server/fast-http.ts); the body-reading members are only
  // touched when Content-Length or Transfer-Encoding is present, which the fast path never serves.
  const onRequest = (req: IncomingMessage | FastRequest, res: ServerResponse | FastResponse): void => {
    const policy = deps.policy();
    const conn = conns.get(req.socket) ?? connectionInfo(req.socket, undefined, remoteAddress(req.socket));
    const headers = scanRequestHeaders(req.rawHeaders, policy.auditHeaders);
    const ctx: RequestContext = {
      req: req as IncomingMessage,
      res: res as ServerResponse,
      policy,
      conn,
      headers,
      startMs: deps.nowMs(),
      requestId: acceptRequestId(headers.requestId) ?? randomUUID(),
      path: '',
      query: '',
      subject: undefined,
      claimHeaders: undefined,
      wouldDeny: undefined,
      bodyLength: undefined,
      body: undefined,
      bytesIn: 0,
      bytesOut: 0,
      done: false,
    };
    void deps.handler(ctx);
  };

  const p0 = deps.policy();
  const server = createServer(
    {
      ...listenerTlsOptions(p0.config, deps.credentials(), deps.ticketKey()),
      ALPNProtocols: ['http/1.1'],
      maxHeaderSize: p0.config.limits.maxHeaderBytes,
      headersTimeout: Math.min(p0.config.limits.headersTimeoutMs, p0.config.limits.requestTimeoutMs),
      requestTimeout: p0.config.limits.requestTimeoutMs,
      connectionsCheckingInterval: 500,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      // Node >= 24.12: a request without Content-Length or Transfer-Encoding
      // (no body, most API calls) gets an already-ended stream instead of the
      // readable-stream events. +8% keep-alive req/s (median of 4 alternating
      // rounds, test/bench/sidecar). Nothing here reads a body unless one of
      // the two headers is present (layers/body-limit.ts).
      optimizeEmptyRequests: true,
    },
    onRequest,
  );

  // node:http's own connection listener (https.Server registers it first): connections start in the
  // fast path and are given to it when a request is not the fast path's shape (fast-http.ts).
  const httpListener = server.listeners('secureConnection')[0] as (this: Server, socket: TLSSocket) => void;
  if (deps.fastPath) server.removeListener('secureConnection', httpListener);
  const fastConnections = new Set<FastConnection>();
  const fastOptions: FastOptions = {
    maxHeaderBytes: () => deps.policy().config.limits.maxHeaderBytes,
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
    draining: deps.draining,
    onRequest,
    handOver: (socket) => httpListener.call(server, socket),
  };
  const serveFast = (socket: TLSSocket): void => {
    if (!deps.fastPath) return;
    const c = new FastConnection(socket, fastOptions);
    fastConnections.add(c);
    socket.once('close', () => fastConnections.delete(c));
  };

  server.on('secureConnection', (socket: TLSSocket) => {
    deps.metrics.tlsHandshake(socket.getProtocol() ?? 'unknown', socket.isSessionReused());
    const policy = deps.policy();
    const address = remoteAddress(socket);
    const cert = socket.getPeerX509Certificate();
    if (!cert) {
      connectionInfo(socket, undefined, address);
      serveFast(socket);
      return;
    }
    if (!socket.authorized) {
      deps.metrics.tlsFailure('ACP_ERR_TLS_BAD_CLIENT_CERT');
      connRecord(socket, 0, 'ACP_ERR_TLS_BAD_CLIENT_CERT');
      socket.destroy();
      return;
    }
    const id = peerIdentity(cert, policy.config.trustDomain);
    if (!id.ok) {
      deps.metrics.tlsFailure(id.code);
      connRecord(socket, 0, id.code);
      socket.destroy();
      return;
    }
    connectionInfo(socket, id.spiffeId, address);
    serveFast(socket);
  });

  server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    const code = handshakeFailureCode(err);
    deps.metrics.tlsFailure(code);
    connRecord(socket, 0, code);
  });

  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !(socket as TLSSocket).encrypted) {
      socket.destroy();
      return;
    }
    if (err.code?.startsWith('ERR_SSL_')) {
      const code = handshakeFailureCode(err);
      deps.metrics.tlsFailure(code);
      connRecord(socket as Duplex & { remoteAddress?: string }, 0, code);
      socket.destroy();
      return;
    }
    const [status, reason] = PARSER_STATUS[err.code ?? ''] ?? [400, 'ACP_ERR_BAD_REQUEST'];
    deps.metrics.request('deny', reason, 0);
    connRecord(socket as Duplex & { remoteAddress?: string }, status, reason, conns.get(socket)?.peerId);
    // Answer unless a response of this connection is still on its way (its bytes would interleave).
    const responding = (conns.get(socket)?.inFlight.size ?? 0) > 0;
    if (socket.writable && !responding) {
      const body = JSON.stringify({ error: reason });
      socket.end(
        `HTTP/1.1 ${status} ${REASON_TEXT[status] ?? 'Error'}\r\nstrict-transport-security: ${deps.policy().hsts}\r\n` +
          `content-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    socket.destroy();
  });

  return {
    server,
    applySnapshot() {
      const policy = deps.policy();
      const opts = listenerTlsOptions(policy.config, deps.credentials(), deps.ticketKey());
      server.setSecureContext(opts);
      const s = server as Server & {
        requestCert: boolean;
        rejectUnauthorized: boolean;
        maxHeaderSize: number;
      };
      s.requestCert = true;
      s.rejectUnauthorized = opts.rejectUnauthorized;
      s.maxHeaderSize = policy.config.limits.maxHeaderBytes;
      // Node requires headersTimeout <= requestTimeout.
      server.headersTimeout = Math.min(
        policy.config.limits.headersTimeoutMs,
        policy.config.limits.requestTimeoutMs,
      );
      server.requestTimeout = policy.config.limits.requestTimeoutMs;
    },
    closeIdleConnections() {
      server.closeIdleConnections();
      for (const c of fastConnections) if (c.fast && c.idle) c.socket.destroy();
    },
    closeAllConnections() {
      server.closeAllConnections();
      for (const c of fastConnections) if (c.fast) c.socket.destroy();
    },
  };
}
