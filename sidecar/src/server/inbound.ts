// The inbound mTLS listener (8443): an HTTPS server whose TLS settings come
// from the snapshot in force (swapped with setSecureContext on reload, so
// existing connections keep theirs). Each TCP connection passes the accept
// gate first (connection-gate.ts: connection limits, before TLS); the
// caller's identity is computed once per connection right after the
// handshake (a refused certificate closes the connection before any HTTP
// is read); then the HTTP/1.1 fast path (fast-http.ts; with
// --no-http-fast-path it only checks the request line) until a request
// needs node:http, whose own connection listener then takes the connection
// over. ALPN offers h2 (unless the policy's http.http2 is false) and
// http/1.1: an h2 connection goes to node:http2
// (h2-inbound.ts), whose streams become requests of the same pipeline.
// Each request goes to the composed pipeline with a fresh context.
//
// Every answer is the sidecar's own (JSON body with an ACP_ERR_* code and
// the request id, HSTS, X-Request-ID, one audit record): node:http's own
// answers are all replaced: its parse errors, header overflow and timeouts
// (clientError) are answered here, through the request they concern when
// its body was being read (the app's exchange is reset first, so it never
// takes a cut body for a whole one) or on the bare connection otherwise,
// after any response still in progress; its bare 400 for a request without
// Host, its 417 for an unknown Expect and its silent close of CONNECT go
// to the pipeline or get an answer here; `100 Continue` waits until the
// request is admitted (layers/body-limit.ts). Bytes after a request that
// closes the connection are dropped, never parsed or forwarded, and the
// response in progress still goes out. The headers timeout runs from the
// TCP accept for a connection's first request (handshake included) and
// from the first byte of a request line for later ones.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { AcpError } from '@acp/crds/sidecar';
import type { Policy } from '../config/policy.ts';
import { acceptRequestId } from '../http/headers.ts';
import { scanRequestHeaders } from '../http/request-headers.ts';
import type { Metrics } from '../metrics.ts';
import type { AuditLog } from '../pipeline/audit.ts';
import type { ConnectionInfo, Decision, H2Facts, Handler, RequestContext } from '../pipeline/types.ts';
import type { H2Code, TlsCode } from '../codes.ts';
import type { Credentials } from '../tls/credentials.ts';
import { handshakeFailureCode, verifyErrorCode } from '../tls/handshake-errors.ts';
import { listenerTlsOptions, sessionTicketKey } from '../tls/options.ts';
import { resumedSessionRefusal } from '../tls/resumed-session.ts';
import { peerIdentity } from '../tls/peer-identity.ts';
import { clientAddress, installConnectionGate } from './connection-gate.ts';
import { createH2Inbound } from './h2-inbound.ts';
import type { H2Request, H2Response } from './h2-request.ts';
import { FastConnection, type FastOptions, type FastRequest, type FastResponse } from './fast-http.ts';
import { ownAnswer } from './own-answer.ts';

export interface InboundDeps {
  policy: () => Policy;
  credentials: () => Credentials;
  /** The shared, rotated base ticket key (the listener installs it bound to the session generation). */
  ticketKey: () => Buffer;
  handler: Handler;
  metrics: Metrics;
  audit: AuditLog;
  nowMs: () => number;
  /** True while the sidecar drains: fast-path responses close their connections. */
  draining: () => boolean;
  /** Connections start on the HTTP/1.1 fast path (fast-http.ts) instead of node:http. */
  fastPath: boolean;
  /** The rescue: answers a request that fails outside the layers (here: its body timed out or broke). */
  fail: (ctx: RequestContext, e: AcpError) => void;
  /** The recorder: ends a request that the HTTP/2 side ended after its response head. */
  finish: (ctx: RequestContext, status: number, decision: Decision, reason: string) => void;
  log: { warn(obj: object, msg: string): void };
}

export interface Inbound {
  readonly server: Server;
  /** Installs the TLS material and server limits of the current snapshot for new connections. */
  applySnapshot(): void;
  /** Installs the current base ticket key (after a rotation), bound to the current session generation. */
  applyTicketKey(): void;
  /** Closes the connections with no request in progress (node:http's and the fast path's). */
  closeIdleConnections(): void;
  /** Closes every connection. */
  closeAllConnections(): void;
}

const KEEP_ALIVE_TIMEOUT_MS = 5000;

const PARSER_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'ACP_ERR_HEADERS_TOO_LARGE'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'ACP_ERR_REQUEST_TIMEOUT'],
  ERR_HTTP_HEADERS_TIMEOUT: [408, 'ACP_ERR_REQUEST_TIMEOUT'],
};

/** Room above maxHeaderBytes + maxUrlBytes in node:http's parser limit, which counts both (layers/framing.ts decides). */
const PARSER_LIMIT_SLACK = 64;

/** What the inbound side keeps per connection besides what the requests share. */
interface InboundConnection extends ConnectionInfo {
  /** The sidecar answered on the bare connection, or through a request that closes it: nothing more is served. */
  answered: boolean;
  /** The headers timeout of the request head being awaited, if one is. */
  headClock: NodeJS.Timeout | undefined;
}

/** A response is still being produced or written for `ctx` (later bytes on the connection must wait). */
function responseInProgress(ctx: RequestContext): boolean {
  if (!ctx.done) return true;
  const res = ctx.res as Partial<ServerResponse>;
  return res.writableFinished === false;
}

function parserLimit(policy: Policy): number {
  return policy.config.limits.maxHeaderBytes + policy.config.limits.maxUrlBytes + PARSER_LIMIT_SLACK;
}

export function createInbound(deps: InboundDeps): Inbound {
  const conns = new WeakMap<Duplex, InboundConnection>();
  /** What the connection's requests share; its close reaches every request still waiting for the app. */
  const connectionInfo = (socket: Duplex, peerId: string | undefined, address: string): InboundConnection => {
    const info: InboundConnection = {
      peerId,
      remoteAddress: address,
      inFlight: new Set(),
      last: undefined,
      answered: false,
      headClock: undefined,
    };
    conns.set(socket, info);
    socket.once('close', () => {
      stopHeadClock(info);
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
      client: clientAddress(socket),
      peer: peer ?? null,
      status,
      decision: 'deny',
      reason,
    });
  };

  /**
   * Answers on the bare connection and closes it: one audit record and one
   * metric, like any request. Nothing when the connection cannot be written
   * any more (it is already closing after an answer).
   */
  const answerBare = (
    socket: Duplex,
    status: number,
    code: string,
    request: { method: string; path: string } = { method: '', path: '' },
  ): void => {
    const conn = conns.get(socket);
    if (conn?.answered) return;
    if (conn) {
      conn.answered = true;
      stopHeadClock(conn);
    }
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const policy = deps.policy();
    const requestId = randomUUID();
    const text = ownAnswer(status, code, requestId, policy.hsts, new Date(deps.nowMs()).toUTCString());
    socket.end(text, 'latin1');
    setTimeout(() => socket.destroy(), 1000).unref();
    deps.metrics.request('deny', code, 0);
    if (!policy.config.audit.enabled) return;
    deps.audit.request({
      requestId,
      peer: conn?.peerId,
      subject: undefined,
      client: conn?.remoteAddress ?? clientAddress(socket as Duplex & { remoteAddress?: string }),
      method: request.method,
      path: request.path,
      status,
      decision: 'deny',
      reason: code,
      wouldDeny: undefined,
      latencyMs: 0,
      bytesIn: 0,
      bytesOut: text.length,
      policyJson: policy.auditPolicyJson,
      headers: undefined,
    });
  };

  const stopHeadClock = (conn: InboundConnection): void => {
    if (conn.headClock === undefined) return;
    clearTimeout(conn.headClock);
    conn.headClock = undefined;
  };
  /** Starts the headers timeout of the head awaited on `socket` (no-op while one runs). */
  const startHeadClock = (socket: TLSSocket, conn: InboundConnection, deadlineMs: number): void => {
    if (conn.headClock !== undefined || conn.answered) return;
    conn.headClock = setTimeout(
      () => {
        conn.headClock = undefined;
        answerBare(socket, 408, 'ACP_ERR_REQUEST_TIMEOUT');
      },
      Math.max(0, deadlineMs - deps.nowMs()),
    );
    conn.headClock.unref();
  };

  // The fast path's request and response carry the members of IncomingMessage and ServerResponse
  // the layers use for a bodiless request (server/fast-http.ts); the body-reading members are only
  // touched when Content-Length or Transfer-Encoding is present, which the fast path never serves.
  const onRequest = (
    req: IncomingMessage | FastRequest | H2Request,
    res: ServerResponse | FastResponse | H2Response,
    protocolError?: string,
    sendContinue?: () => void,
    h2?: H2Facts,
  ): RequestContext | undefined => {
    const policy = deps.policy();
    const conn = conns.get(req.socket) ?? connectionInfo(req.socket, undefined, clientAddress(req.socket));
    if (conn.answered) return undefined; // node:http finished a head after the sidecar answered the connection
    if (conn.headClock !== undefined) stopHeadClock(conn);
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
      protocolError,
      sendContinue,
    };
    if (h2) ctx.h2 = h2;
    conn.last = ctx;
    void deps.handler(ctx);
    return ctx;
  };

  const p0 = deps.policy();
  const server = createServer(
    {
      ...listenerTlsOptions(p0.config, deps.credentials(), deps.ticketKey()),
      // h2 when the client offers it and the policy in force allows it (http.http2, default on), else
      // http/1.1; a client that offers neither is refused in the handshake (no_application_protocol).
      ALPNCallback: ({ protocols }: { protocols: string[] }) => {
        if (deps.policy().config.http?.http2 !== false && protocols.includes('h2')) return 'h2';
        return protocols.includes('http/1.1') ? 'http/1.1' : undefined;
      },
      // The TLS handshake gets the headers timeout (read at start); the head clock then runs on from the accept.
      handshakeTimeout: p0.config.limits.headersTimeoutMs,
      maxHeaderSize: parserLimit(p0),
      headersTimeout: Math.min(p0.config.limits.headersTimeoutMs, p0.config.limits.requestTimeoutMs),
      requestTimeout: p0.config.limits.requestTimeoutMs,
      connectionsCheckingInterval: 500,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      // A request without Host reaches the pipeline (layers/framing.ts answers it), not node's bare 400.
      requireHostHeader: false,
      // Node >= 24.12: a request without Content-Length or Transfer-Encoding
      // (no body, most API calls) gets an already-ended stream instead of the
      // readable-stream events. +8% keep-alive req/s (median of 4 alternating
      // rounds, test/bench/sidecar). Nothing here reads a body unless one of
      // the two headers is present (layers/body-limit.ts).
      optimizeEmptyRequests: true,
    },
    (req: IncomingMessage, res: ServerResponse) => onRequest(req, res),
  );
  // Expect: 100-continue is sent once the request is admitted; any other expectation is a 417 of ours.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) =>
    onRequest(req, res, undefined, () => res.writeContinue()),
  );
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) =>
    onRequest(req, res, 'ACP_ERR_EXPECTATION_FAILED'),
  );
  // CONNECT: node:http would close the connection without a word.
  server.on('connect', (req: IncomingMessage, socket: Duplex) =>
    answerBare(socket, 405, 'ACP_ERR_METHOD_NOT_ALLOWED', { method: 'CONNECT', path: req.url ?? '' }),
  );

  const gate = installConnectionGate(server, {
    limits: () => deps.policy().config.limits,
    metrics: deps.metrics,
    log: deps.log,
    nowMs: deps.nowMs,
  });

  // node:http's own connection listener (https.Server registers it first): connections start in the
  // fast path (or, with it off, in its request-line check) and are given to node:http after (fast-http.ts).
  const httpListener = server.listeners('secureConnection')[0] as (this: Server, socket: TLSSocket) => void;
  server.removeListener('secureConnection', httpListener);
  const fastConnections = new Set<FastConnection>();
  const fastOptions: FastOptions = {
    serve: deps.fastPath,
    maxHeaderBytes: () => deps.policy().config.limits.maxHeaderBytes,
    maxUrlBytes: () => deps.policy().config.limits.maxUrlBytes,
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
    draining: deps.draining,
    onRequest,
    handOver: (socket) => httpListener.call(server, socket),
    headStarted: (socket) => {
      const conn = conns.get(socket);
      if (conn) startHeadClock(socket, conn, deps.nowMs() + deps.policy().config.limits.headersTimeoutMs);
    },
    refuse: (socket, code) => answerBare(socket, 414, code),
  };
  const h2 = createH2Inbound({
    policy: deps.policy,
    nowMs: deps.nowMs,
    request: (req, res, protocolError, facts) =>
      onRequest(req, res, protocolError, undefined, facts) as RequestContext,
    fail: deps.fail,
    finish: (ctx, status, reason) => deps.finish(ctx, status, 'error', reason),
    defence: (socket: TLSSocket, code: H2Code, detail: string) => {
      deps.metrics.http2Defence(code);
      connRecord(socket, 0, code, conns.get(socket)?.peerId);
      deps.log.warn({ type: 'event', client: clientAddress(socket), reason: code, detail }, 'HTTP/2 defence');
    },
    log: deps.log,
  });
  const serve = (socket: TLSSocket, conn: InboundConnection, acceptedMs: number): void => {
    if (socket.alpnProtocol === 'h2') {
      h2.serve(socket);
      return;
    }
    startHeadClock(socket, conn, acceptedMs + deps.policy().config.limits.headersTimeoutMs);
    const c = new FastConnection(socket, fastOptions);
    fastConnections.add(c);
    socket.once('close', () => fastConnections.delete(c));
  };

  const refuseConnection = (socket: TLSSocket, code: TlsCode): void => {
    deps.metrics.tlsFailure(code);
    connRecord(socket, 0, code);
    socket.destroy();
  };

  server.on('secureConnection', (socket: TLSSocket) => {
    const acceptedMs = gate.handshakeDone(socket);
    deps.metrics.tlsHandshake(socket.getProtocol() ?? 'unknown', socket.isSessionReused());
    const policy = deps.policy();
    const address = clientAddress(socket);
    const cert = socket.getPeerX509Certificate();
    if (cert && !socket.authorized)
      return refuseConnection(socket, verifyErrorCode(socket.authorizationError));
    if (socket.isSessionReused()) {
      const strict = policy.config.mtls.mode === 'Strict';
      const refused = resumedSessionRefusal(cert, strict, deps.nowMs());
      if (refused) return refuseConnection(socket, refused);
    }
    if (!cert) {
      serve(socket, connectionInfo(socket, undefined, address), acceptedMs);
      return;
    }
    const id = peerIdentity(cert, policy.config.trustDomain);
    if (!id.ok) return refuseConnection(socket, id.code);
    serve(socket, connectionInfo(socket, id.spiffeId, address), acceptedMs);
  });

  /** Handshake errors already counted: node:https passes each on to 'clientError' as well. */
  const counted = new WeakSet<Error>();
  // Before node:https's own listener, which emits 'clientError' with the same error.
  server.prependListener('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    counted.add(err);
    // A client certificate that failed verification: Node finished the handshake, then closed the
    // socket with the verify error in authorizationError (which names the cause).
    const code =
      err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT'
        ? 'ACP_ERR_TLS_HANDSHAKE_TIMEOUT'
        : handshakeFailureCode(err, socket.authorizationError);
    // Node leaves the TCP connection open after some handshake failures (its handshake timeout among them).
    socket.destroy();
    deps.metrics.tlsFailure(code);
    connRecord(socket, 0, code);
  });

  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (
      counted.has(err) ||
      err.code === 'ECONNRESET' ||
      err.code === 'EPIPE' ||
      !(socket as TLSSocket).encrypted
    ) {
      socket.destroy();
      return;
    }
    if (err.code?.startsWith('ERR_SSL_')) {
      const code = handshakeFailureCode(err, (socket as TLSSocket).authorizationError);
      deps.metrics.tlsFailure(code);
      connRecord(socket as Duplex & { remoteAddress?: string }, 0, code);
      socket.destroy();
      return;
    }
    const conn = conns.get(socket);
    const last = conn?.last;
    const busy = last !== undefined && responseInProgress(last);
    if (err.code === 'HPE_CLOSED_CONNECTION') {
      // Bytes after a request that closes the connection: dropped unparsed; its response still goes out.
      if (!busy) socket.destroy();
      return;
    }
    const [status, code] = PARSER_STATUS[err.code ?? ''] ?? [400, 'ACP_ERR_BAD_REQUEST'];
    if (conn && last && !last.req.complete) {
      // The error concerns the request whose body was arriving (timed out, or broken framing).
      if (last.done) {
        socket.destroy(); // it was answered already, and that answer closes the connection
        return;
      }
      conn.answered = true;
      for (const r of conn.inFlight) if (r.ctx === last) r.abort();
      deps.fail(last, new AcpError(code, err.message));
      return;
    }
    if (busy) {
      last.res.once('close', () => answerBare(socket, status, code));
      return;
    }
    answerBare(socket, status, code);
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
      s.maxHeaderSize = parserLimit(policy);
      // Node requires headersTimeout <= requestTimeout.
      server.headersTimeout = Math.min(
        policy.config.limits.headersTimeoutMs,
        policy.config.limits.requestTimeoutMs,
      );
      server.requestTimeout = policy.config.limits.requestTimeoutMs;
      gate.applyLimits();
      h2.applySnapshot();
    },
    applyTicketKey() {
      server.setTicketKeys(sessionTicketKey(deps.policy().config, deps.credentials(), deps.ticketKey()));
    },
    closeIdleConnections() {
      server.closeIdleConnections();
      for (const c of fastConnections) if (c.fast && c.idle) c.socket.destroy();
      h2.closeIdle();
    },
    closeAllConnections() {
      server.closeAllConnections();
      for (const c of fastConnections) if (c.fast) c.socket.destroy();
      h2.closeAll();
    },
  };
}
