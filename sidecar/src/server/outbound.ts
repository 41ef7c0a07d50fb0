// The outbound proxy on 127.0.0.1:15001: the app's HTTP proxy
// (HTTP_PROXY=http://127.0.0.1:15001, absolute-form requests). Where a
// request goes is outbound-route.ts: a meshed Service of the directory
// (`http://payments:8080` and its longer names) is reached over mTLS with
// this workload's certificate at the companion ClusterIP, and the callee
// must prove one of the Service's SPIFFE IDs (secure naming); an
// egress.allow host:port entry as before (mTLS when it lists peers, plain
// otherwise); egress.default Allow passes the rest in plain HTTP; anything
// else is refused. One keep-alive pool (node:https Agent) per destination
// and credential; idempotent bodiless requests whose connection failed, or
// that a callee sidecar answered 502 ACP_ERR_UPSTREAM_UNAVAILABLE (its app
// was not reached: a pod shutting down), are sent again on a new connection
// (twice at most); a connect timeout (upstream.connectTimeoutMs)
// and a response-head timeout (limits.requestTimeoutMs). Every refusal is
// a JSON body {error, message, requestId} with an ACP_ERR_* code and the
// X-Request-ID header: 403 EGRESS_DENIED, 502 EGRESS_PEER_MISMATCH /
// EGRESS_TLS / UPSTREAM_UNAVAILABLE, 503 MESH_UNAVAILABLE, 504
// UPSTREAM_TIMEOUT. Each request is audited on the caller (destination,
// callee identity, decision) and counted per destination. HTTPS goes
// through CONNECT tunnels, only to egress.allow entries without peers (or
// under egress.default Allow).
import { Agent as HttpAgent, createServer, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage, Server, ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type { SidecarConfig } from '@acp/crds/sidecar';
import { statusForCode } from '../codes.ts';
import type { AuditLog } from '../pipeline/audit.ts';
import { acceptRequestId, upstreamRequestHeaders } from '../http/headers.ts';
import type { Credentials } from '../tls/credentials.ts';
import type { OutboundMetrics } from './outbound-metrics.ts';
import { createMeshH2 } from './outbound-h2.ts';
import { checkPeerServer, isMtlsFailure, peerOf, refusalOf } from './outbound-peer.ts';
import { route, type Route } from './outbound-route.ts';

export { route } from './outbound-route.ts';
export { checkPeerServer } from './outbound-peer.ts';

export interface OutboundDeps {
  config: () => SidecarConfig;
  credentials: () => Credentials;
  audit: AuditLog;
  metrics?: OutboundMetrics;
  nowMs?: () => number;
}

type Reachable = Extract<Route, { kind: 'mesh' | 'egress' }>;

/** Methods a proxy may send again (RFC 9110 9.2.2), when the request has no body. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const MAX_RETRIES = 2;
const RETRY_DELAY_MS = 25;
/** Below the callee sidecar's 5 s keep-alive timeout, so the caller closes an idle connection first. */
const IDLE_SOCKET_MS = 4000;
const MAX_POOLS = 256;
/**
 * How long the app's idle keep-alive connection to the proxy stays open. Long, because the
 * client that reuses a connection just as the server closes it gets ECONNRESET, and Node's
 * agent neither retries nor heeds the Keep-Alive timeout hint: node's 5 s default made a
 * Node app see one reset in ~7,000 requests during a callee roll. 120 s is above Go's 90 s
 * idle timeout (Go closes first); the connections are the app's own, on loopback.
 */
const APP_KEEP_ALIVE_MS = 120_000;
const RESPONSE_HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

/** Errors that mean the request never reached a server: safe to send again when idempotent. */
function failedToConnect(err: NodeJS.ErrnoException, reused: boolean): boolean {
  if (err.code === 'ACP_ERR_CONNECT_TIMEOUT') return true;
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'].includes(err.code ?? '')) return true;
  // A keep-alive connection the server closed just as we reused it.
  return reused && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
}

function respond(res: ServerResponse, code: string, message: string, requestId: string): void {
  const body = JSON.stringify({ error: code, message, requestId });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(statusForCode(code), {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
  });
  res.end(body);
}

function responseHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (!RESPONSE_HOP_BY_HOP.has(name.toLowerCase())) out.push(name, raw[i + 1] ?? '');
  }
  return out;
}

interface Pool {
  agent: HttpAgent;
  /** Same destination and credential, no keep-alive: for retries. */
  fresh: HttpAgent;
  tls: boolean;
  key: string;
}

/** A 502 whose small JSON body may be the callee sidecar's own "the app was not reached". */
function mayBeUndelivered(upRes: IncomingMessage): boolean {
  return (
    upRes.statusCode === 502 &&
    (upRes.headers['content-type'] ?? '').startsWith('application/json') &&
    Number(upRes.headers['content-length'] ?? Infinity) <= 1024
  );
}

/** The callee sidecar's answer when its app refused the connection (the request never reached it). */
function undelivered(body: Buffer): boolean {
  try {
    return (
      (JSON.parse(body.toString('utf8')) as { error?: unknown }).error === 'ACP_ERR_UPSTREAM_UNAVAILABLE'
    );
  } catch {
    return false;
  }
}

function readSmall(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => done(Buffer.concat(chunks)));
    stream.once('error', fail);
  });
}

/** An origin-form target (`/path?q`) inside a tunnel to host:port, as an absolute http:// URL. Throws on anything else. Pure. */
export function originFormUrl(tunnel: string, target: string): URL {
  if (!target.startsWith('/')) throw new Error('origin-form required');
  const base = new URL(`http://${tunnel}/`);
  const url = new URL(`${base.origin}${target}`);
  if (url.origin !== base.origin) throw new Error('the target leaves the tunnel');
  return url;
}

export function createOutbound(deps: OutboundDeps): { server: Server; close(): Promise<void> } {
  const pools = new Map<string, Pool>();
  /** Sockets of tunnels to meshed Services that carry HTTP/1.1, with their CONNECT target. */
  const http1Tunnels = new WeakMap<object, string>();
  const now = deps.nowMs ?? (() => performance.now());

  /** A replaced pool drains its in-flight requests for a minute, then closes. */
  const retire = (p: Pool): void => {
    setTimeout(() => {
      p.agent.destroy();
      p.fresh.destroy();
    }, 60_000).unref();
  };

  /** One pool per destination address; a new credential or identity set replaces it (the old one drains). */
  const poolFor = (r: Reachable): Pool => {
    const creds = deps.credentials();
    const tls = r.identities.length > 0;
    const address = `${r.host}:${r.port}`;
    const key = tls ? `${creds.fingerprint}|${r.identities.join(',')}` : 'plain';
    const existing = pools.get(address);
    if (existing && existing.key === key) return existing;
    if (existing) retire(existing);
    // FIFO: requests take the idle connection that waited longest, so every connection a burst
    // opened keeps being used while the destination is busy. With node's default (LIFO) the
    // busiest few carry everything, the rest close after IDLE_SOCKET_MS, and the next burst
    // (a GC pause, a scheduling gap upstream) pays a full mTLS handshake per extra request on
    // both sidecars: that was the mesh leg's p99 (test/bench/sidecar/README.md, issue 20).
    const common = {
      keepAlive: true,
      maxSockets: 128,
      maxFreeSockets: 32,
      timeout: IDLE_SOCKET_MS,
      scheduling: 'fifo' as const,
    };
    const tlsOptions = tls && {
      // One TLS context per pool: given ca/cert/key instead, node parses all three again for
      // every new connection (0.5-0.7 ms of CPU each here, a third of a full handshake).
      secureContext: createSecureContext({
        ca: creds.files.ca,
        cert: creds.files.cert,
        key: creds.files.key,
        minVersion: 'TLSv1.2',
      }),
      checkServerIdentity: checkPeerServer(r.identities),
    };
    // No TLS session resumption: node skips checkServerIdentity on a resumed session and
    // the peer certificate is not at hand then; every new connection proves its identity in
    // a full handshake (connections are long-lived, so this is rare).
    const make = (keepAlive: boolean): HttpAgent =>
      tls
        ? new HttpsAgent({ ...common, keepAlive, maxCachedSessions: 0, ...tlsOptions })
        : new HttpAgent({ ...common, keepAlive });
    pools.delete(address);
    pools.set(address, { agent: make(true), fresh: make(false), tls, key });
    if (pools.size > MAX_POOLS) {
      const [oldest, pool] = pools.entries().next().value ?? [];
      if (oldest !== undefined && pool) {
        pools.delete(oldest);
        retire(pool);
      }
    }
    return pools.get(address) as Pool;
  };

  const audit = (fields: Record<string, unknown>): void => {
    if (deps.config().audit.enabled) deps.audit.record({ direction: 'outbound', ...fields });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = now();
    const requestId =
      acceptRequestId(req.headers['x-request-id'] as string | undefined) ?? crypto.randomUUID();
    let url: URL;
    const tunnel = http1Tunnels.get(req.socket);
    try {
      // In a tunnel to a meshed Service the request is origin-form and goes to the CONNECT target.
      url = tunnel ? originFormUrl(tunnel, req.url ?? '') : new URL(req.url ?? '');
      if (url.protocol !== 'http:') throw new Error('scheme');
    } catch {
      respond(
        res,
        'ACP_ERR_BAD_REQUEST',
        tunnel
          ? `origin-form request target required in the tunnel to ${tunnel}`
          : 'absolute-form http:// request target required',
        requestId,
      );
      return;
    }
    const config = deps.config();
    const port = url.port ? Number(url.port) : 80;
    const target = `${url.hostname}:${port}`;
    const r = route(config, url.hostname, port);
    const finish = (status: number, reason: string, peer: string | undefined): void => {
      const decision = reason === 'ACP_OK' ? 'allow' : reason === 'ACP_ERR_EGRESS_DENIED' ? 'deny' : 'error';
      const seconds = (now() - started) / 1000;
      deps.metrics?.request(r.destination, decision, reason, seconds);
      audit({
        requestId,
        method: req.method,
        target,
        destination: r.destination,
        ...(peer ? { peer } : {}),
        status,
        decision,
        reason,
        latencyMs: Math.round(seconds * 10_000) / 10,
      });
    };
    const refuse = (code: string, message: string, peer?: string): void => {
      finish(statusForCode(code), code, peer);
      respond(res, code, message, requestId);
    };
    if (r.kind === 'deny') return refuse('ACP_ERR_EGRESS_DENIED', `egress to ${target} is not allowed`);
    if (r.kind === 'unavailable')
      return refuse(
        'ACP_ERR_MESH_UNAVAILABLE',
        `${r.destination} has no meshed pods (or no address yet) to send ${target} to`,
      );
    const headers = upstreamRequestHeaders(req.rawHeaders, {
      requestId,
      clientAddress: '127.0.0.1',
      peerId: undefined,
      selfId: undefined,
      claimHeaders: undefined,
      contentLength:
        req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : undefined,
    });
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (chunked) headers.push('transfer-encoding', 'chunked');
    const hasBody = chunked || (req.headers['content-length'] ?? '0') !== '0';
    const method = req.method ?? 'GET';
    const retryable = IDEMPOTENT.has(method) && !hasBody;
    const connectTimeoutMs = config.upstream.connectTimeoutMs;
    const responseTimeoutMs = config.limits.requestTimeoutMs;

    const attempt = (n: number): void => {
      const pool = poolFor(r);
      const send = pool.tls ? httpsRequest : httpRequest;
      let settled = false;
      /** This attempt gave the request to the next one: its own late errors no longer matter. */
      let handedOver = false;
      const up: ClientRequest = send({
        host: r.host,
        port: r.port,
        method,
        path: `${url.pathname}${url.search}`,
        headers,
        // A retry takes a new connection: the pooled ones may lead to the pod that just failed.
        agent: n === 0 ? pool.agent : pool.fresh,
        setHost: false,
      });
      const timer = setTimeout(() => {
        up.destroy(Object.assign(new Error('response timeout'), { code: 'ACP_ERR_UPSTREAM_TIMEOUT' }));
      }, responseTimeoutMs);
      up.on('socket', (s: Socket) => {
        if (!s.connecting) return;
        const t = setTimeout(
          () => s.destroy(Object.assign(new Error('connect timeout'), { code: 'ACP_ERR_CONNECT_TIMEOUT' })),
          connectTimeoutMs,
        );
        s.once('connect', () => clearTimeout(t));
        s.once('close', () => clearTimeout(t));
      });
      const retry = (): void => {
        deps.metrics?.retry(r.destination);
        // A short pause lets kube-proxy catch up when the endpoint just went away.
        setTimeout(() => attempt(n + 1), RETRY_DELAY_MS * (n + 1));
      };
      up.on('response', (upRes) => {
        settled = true;
        clearTimeout(timer);
        const peer = pool.tls ? peerOf(upRes.socket as TLSSocket) : undefined;
        const deliver = (body?: Buffer): void => {
          res.writeHead(upRes.statusCode ?? 502, responseHeaders(upRes.rawHeaders));
          if (body) res.end(body);
          else upRes.pipe(res);
          upRes.once('error', () => res.destroy());
          finish(upRes.statusCode ?? 502, 'ACP_OK', peer);
        };
        if (!(r.kind === 'mesh' && retryable && n < MAX_RETRIES && mayBeUndelivered(upRes))) return deliver();
        const socket = upRes.socket;
        readSmall(upRes)
          .then((body) => {
            if (!undelivered(body) || res.destroyed) return deliver(body);
            // The callee's sidecar could not reach its app (a pod shutting down): the request was
            // not delivered. Close this connection and the pool's idle ones (they may lead to the
            // same pod) and send it again on a new connection.
            handedOver = true;
            socket.destroy();
            for (const list of Object.values(pool.agent.freeSockets))
              for (const sock of list ?? []) sock.destroy();
            retry();
          })
          .catch(() => res.destroy());
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (handedOver) return;
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        if (retryable && n < MAX_RETRIES && failedToConnect(err, up.reusedSocket) && !res.destroyed) {
          retry();
          return;
        }
        const refusal = refusalOf(err, target);
        if (pool.tls && isMtlsFailure(refusal.code)) deps.metrics?.mtlsFailure(r.destination, refusal.code);
        refuse(refusal.code, refusal.message);
      });
      res.once('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      if (hasBody) req.pipe(up);
      else up.end();
    };
    attempt(0);
  };

  const server = createServer({ keepAliveTimeout: APP_KEEP_ALIVE_MS }, onRequest);
  const meshH2 = createMeshH2({
    ...deps,
    audit,
    nowMs: now,
    // HTTP/1.1 in a tunnel to a meshed Service (Node's fetch with NODE_USE_ENV_PROXY): served by
    // this proxy as if each request had been sent in absolute form to the CONNECT target.
    http1: (socket, first, host, port) => {
      http1Tunnels.set(socket, `${host}:${port}`);
      server.emit('connection', socket);
      // node:http reads a net.Socket through its handle (the bytes already read are not there):
      // the first bytes go to the connection's parser as a 'data' event, before any later read.
      if (first.length > 0) socket.emit('data', first);
    },
  });
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const [host = '', portText = ''] = (req.url ?? '').split(':');
    const port = Number(portText);
    const r = route(deps.config(), host, port);
    // A meshed Service: the tunnel carries h2c (gRPC), served here and sent on over mTLS.
    if (r.kind === 'mesh' || r.kind === 'unavailable') {
      meshH2.tunnel(socket, head, host, port);
      return;
    }
    // Other tunnels carry the app's own TLS: only to destinations reached without mTLS.
    if (r.kind !== 'egress' || r.identities.length > 0) {
      audit({
        method: 'CONNECT',
        target: req.url ?? '',
        destination: r.destination,
        status: 403,
        decision: 'deny',
        reason: 'ACP_ERR_EGRESS_DENIED',
      });
      deps.metrics?.request(r.destination, 'deny', 'ACP_ERR_EGRESS_DENIED', 0);
      socket.end(
        'HTTP/1.1 403 Forbidden\r\nx-acp-error: ACP_ERR_EGRESS_DENIED\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
      );
      return;
    }
    const upstream = netConnect(port, r.host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
      audit({
        method: 'CONNECT',
        target: req.url ?? '',
        destination: r.destination,
        status: 200,
        decision: 'allow',
        reason: 'ACP_OK',
      });
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  return {
    server,
    close() {
      meshH2.close();
      for (const p of pools.values()) {
        p.agent.destroy();
        p.fresh.destroy();
      }
      pools.clear();
      return Promise.resolve();
    },
  };
}
