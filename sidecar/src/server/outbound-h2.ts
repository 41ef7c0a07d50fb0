// The outbound proxy's side for gRPC and other h2c clients: a CONNECT to a
// meshed Service (gRPC clients send `CONNECT payments.shop:8080` to
// HTTP_PROXY, then speak h2c with prior knowledge inside the tunnel) is
// not passed on as raw bytes: the proxy answers 200 and reads the first
// bytes. An HTTP/1.1 request (Node's fetch tunnels plain http:// this way)
// goes to the HTTP/1.1 proxy (deps.http1, outbound.ts); anything else but
// the HTTP/2 preface (a TLS ClientHello) closes the tunnel, audited as
// ACP_ERR_MESH_TUNNEL_NOT_H2. An h2 tunnel is served as an h2c server connection, and
// sends each stream on over h2 with mTLS to the callee's sidecar: one
// multiplexed session per destination address and credential, this
// workload's certificate, ALPN h2, the callee's SPIFFE ID checked in the
// handshake like the HTTP/1.1 path (outbound-peer.ts), no TLS session
// resumption. Each stream is routed again against the config in force
// (a tunnel does not outlive a directory change): headers, DATA with
// node:http2's flow control both ways, and trailers (grpc-status) are
// relayed. Refusals are trailers-only gRPC answers (grpc-status 7 for
// ACP_ERR_EGRESS_DENIED, 14 for peer mismatch, TLS and connect failures,
// with grpc-message and x-acp-error), or a JSON body for a non-gRPC
// stream. Each stream is audited on the caller and counted per destination.
import {
  connect,
  constants,
  createServer,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { SidecarConfig } from '@acp/crds/sidecar';
import { statusForCode } from '../codes.ts';
import { grpcMessage, grpcStatusFor } from '../http/grpc-status.ts';
import { acceptRequestId, upstreamRequestHeaders } from '../http/headers.ts';
import type { Credentials } from '../tls/credentials.ts';
import { flatFields, withFields } from '../upstream/h2c.ts';
import { H2_MAX_STREAMS } from './h2-inbound.ts';
import { CONNECTION_SPECIFIC } from './h2-request.ts';
import type { OutboundMetrics } from './outbound-metrics.ts';
import { checkPeerServer, isMtlsFailure, peerOf, refusalOf } from './outbound-peer.ts';
import { route, type Route } from './outbound-route.ts';

export interface MeshH2Deps {
  /**
   * Takes over a tunnel that carries HTTP/1.1, with the first bytes already read from it:
   * Node's fetch with NODE_USE_ENV_PROXY tunnels plain http:// this way.
   */
  http1?: (socket: Duplex, first: Buffer, host: string, port: number) => void;
  config: () => SidecarConfig;
  credentials: () => Credentials;
  /** Writes one caller-side audit record (when audit is on). */
  audit: (fields: Record<string, unknown>) => void;
  metrics?: OutboundMetrics;
  nowMs: () => number;
}

export interface MeshH2 {
  /** Takes over a CONNECT tunnel to host:port (a meshed destination) whose 200 is not yet sent. */
  tunnel(socket: Duplex, head: Buffer, host: string, port: number): void;
  close(): void;
}

/** The client connection preface (RFC 9113 3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * What the first bytes of a tunnel say: 'h2' once the whole preface is
 * there, 'other' as soon as a byte differs, 'more' while a prefix of it. Pure.
 */
export function prefaceState(bytes: Buffer): 'h2' | 'other' | 'more' {
  const n = Math.min(bytes.length, H2_PREFACE.length);
  if (bytes.subarray(0, n).compare(H2_PREFACE, 0, n) !== 0) return 'other';
  return n === H2_PREFACE.length ? 'h2' : 'more';
}

/**
 * Whether a tunnel that is not h2 starts like an HTTP/1.1 request: a method token
 * (upper-case letters) and a space, or a prefix of one. A TLS ClientHello (0x16) or
 * anything else is not. Pure.
 */
export function looksLikeHttp1(bytes: Buffer): boolean {
  let i = 0;
  while (i < bytes.length && i < 24) {
    const c = bytes[i] as number;
    if (c === 0x20) return i > 0;
    if (c < 0x41 || c > 0x5a) return false;
    i++;
  }
  return i < 24;
}

/** A caller-side session idle this long (no stream open) is closed; the callee closes idle sessions after 60 s. */
const SESSION_IDLE_MS = 30_000;

interface Tunnel {
  host: string;
  port: number;
  target: string;
}

interface MeshSession {
  session: ClientHttp2Session;
  socket: TLSSocket;
  key: string;
}

type Mesh = Extract<Route, { kind: 'mesh' }>;

function isGrpc(h: IncomingHttpHeaders): boolean {
  return (h['content-type'] ?? '').startsWith('application/grpc');
}

/** The request's regular fields as a flat list (pseudo-headers left out), for upstreamRequestHeaders. */
function regularFields(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2)
    if ((raw[i] ?? ':').charCodeAt(0) !== 58) out.push(raw[i] ?? '', raw[i + 1] ?? '');
  return out;
}

function responseFields(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': h[':status'] ?? 502 };
  for (const name of Object.keys(h))
    if (name.charCodeAt(0) !== 58 && !CONNECTION_SPECIFIC.has(name)) out[name] = h[name];
  return out;
}

export function createMeshH2(deps: MeshH2Deps): MeshH2 {
  const sessions = new Map<string, MeshSession>();
  const tunnels = new WeakMap<object, Tunnel>();
  const served = new Set<ServerHttp2Session>();
  let accepting: Tunnel | undefined;
  // The app's side of the tunnel: as many concurrent streams as a callee sidecar allows one session.
  const server = createServer({ settings: { maxConcurrentStreams: H2_MAX_STREAMS } });

  /** The live session to a destination address for the current credential and identity set (a new one replaces it). */
  const sessionFor = (r: Mesh): MeshSession => {
    const creds = deps.credentials();
    const address = `${r.host}:${r.port}`;
    const key = `${creds.fingerprint}|${r.identities.join(',')}`;
    const live = sessions.get(address);
    if (live && live.key === key && !live.session.closed && !live.session.destroyed) return live;
    live?.session.close(); // in-flight streams finish; new ones go to the new session
    // No TLS session resumption (no `session` given, no cache): node skips checkServerIdentity on a
    // resumed session; every session proves the callee's identity in a full handshake.
    const socket = tlsConnect({
      host: r.host,
      port: r.port,
      ca: creds.files.ca,
      cert: creds.files.cert,
      key: creds.files.key,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['h2'],
      checkServerIdentity: checkPeerServer(r.identities),
    });
    const session = connect(`https://${address}`, { createConnection: () => socket });
    const entry: MeshSession = { session, socket, key };
    sessions.set(address, entry);
    const drop = (): void => {
      if (sessions.get(address) === entry) sessions.delete(address);
    };
    const timer = setTimeout(() => {
      drop();
      session.destroy(Object.assign(new Error('connect timeout'), { code: 'ACP_ERR_CONNECT_TIMEOUT' }));
    }, deps.config().upstream.connectTimeoutMs);
    timer.unref();
    session.once('connect', () => clearTimeout(timer));
    session.on('error', drop);
    session.once('goaway', drop);
    session.once('close', () => {
      clearTimeout(timer);
      drop();
    });
    session.setTimeout(SESSION_IDLE_MS, () => session.close());
    session.unref();
    return entry;
  };

  server.on('session', (session: ServerHttp2Session) => {
    if (!accepting) {
      session.destroy();
      return;
    }
    tunnels.set(session, accepting);
    served.add(session);
    session.on('error', () => undefined);
    session.once('close', () => served.delete(session));
  });

  server.on(
    'stream',
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      const t = stream.session ? tunnels.get(stream.session) : undefined;
      if (!t) {
        stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      stream.on('error', () => undefined);
      const started = deps.nowMs();
      const requestId = acceptRequestId(headers['x-request-id'] as string | undefined) ?? crypto.randomUUID();
      const config = deps.config();
      const r = route(config, t.host, t.port);
      const grpc = isGrpc(headers);
      const finish = (status: number, reason: string, peer: string | undefined): void => {
        const decision =
          reason === 'ACP_OK' ? 'allow' : reason === 'ACP_ERR_EGRESS_DENIED' ? 'deny' : 'error';
        const seconds = (deps.nowMs() - started) / 1000;
        deps.metrics?.request(r.destination, decision, reason, seconds);
        deps.audit({
          requestId,
          method: headers[':method'],
          target: t.target,
          destination: r.destination,
          protocol: 'h2',
          ...(peer ? { peer } : {}),
          status,
          decision,
          reason,
          latencyMs: Math.round(seconds * 10_000) / 10,
        });
      };
      const refuse = (code: string, message: string): void => {
        const status = statusForCode(code);
        finish(status, code, undefined);
        if (stream.destroyed || stream.headersSent) {
          if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
          return;
        }
        if (grpc) {
          // Trailers-only (gRPC over HTTP/2): HTTP 200, the status in grpc-status.
          stream.respond(
            {
              ':status': 200,
              'content-type': 'application/grpc',
              'grpc-status': String(grpcStatusFor(status)),
              'grpc-message': grpcMessage(`${code}: ${message}`),
              'x-acp-error': code,
              'x-request-id': requestId,
            },
            { endStream: true },
          );
          return;
        }
        const body = JSON.stringify({ error: code, message, requestId });
        stream.respond({
          ':status': status,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-acp-error': code,
          'x-request-id': requestId,
        });
        stream.end(body);
      };
      if (r.kind === 'deny' || r.kind === 'egress')
        return refuse('ACP_ERR_EGRESS_DENIED', `${t.target} is not a meshed Service this workload may call`);
      if (r.kind === 'unavailable')
        return refuse(
          'ACP_ERR_MESH_UNAVAILABLE',
          `${r.destination} has no meshed pods (or no address yet) to send ${t.target} to`,
        );
      const cl = headers['content-length'];
      const fields = upstreamRequestHeaders(regularFields(rawHeaders), {
        requestId,
        clientAddress: '127.0.0.1',
        peerId: undefined,
        selfId: undefined,
        claimHeaders: undefined,
        contentLength: cl !== undefined ? Number(cl) : undefined,
      });
      // gRPC needs `te: trailers` (the only te value HTTP/2 allows); the header hygiene drops te.
      if (headers['te'] === 'trailers') fields.push('te', 'trailers');
      const h = withFields(
        {
          ':method': headers[':method'] ?? 'GET',
          ':path': headers[':path'] ?? '/',
          ':scheme': 'https',
          ':authority': headers[':authority'] ?? t.target,
        },
        fields,
      );
      const endStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      const ms = sessionFor(r);
      let up: ClientHttp2Stream;
      try {
        up = ms.session.request(h, { endStream });
      } catch (e) {
        ms.session.close(); // out of stream ids or closing: the next stream opens a new session
        return refuse('ACP_ERR_UPSTREAM_UNAVAILABLE', `cannot reach ${t.target}: ${(e as Error).message}`);
      }
      let settled = false;
      let trailers: OutgoingHttpHeaders = {};
      up.on('response', (rh: IncomingHttpHeaders, rflags: number) => {
        if (settled || stream.destroyed) return;
        settled = true;
        const status = Number(rh[':status'] ?? 502);
        finish(status, 'ACP_OK', peerOf(ms.socket));
        try {
          if ((rflags & constants.NGHTTP2_FLAG_END_STREAM) !== 0) {
            stream.respond(responseFields(rh), { endStream: true });
            return;
          }
          stream.respond(responseFields(rh), { waitForTrailers: true });
        } catch {
          // A field node:http2 will not send (the callee broke the rules): reset both, never a half answer.
          up.close(constants.NGHTTP2_PROTOCOL_ERROR);
          stream.close(constants.NGHTTP2_INTERNAL_ERROR);
          return;
        }
        stream.once('wantTrailers', () => {
          try {
            stream.sendTrailers(trailers);
          } catch {
            stream.close(constants.NGHTTP2_INTERNAL_ERROR);
          }
        });
        up.pipe(stream);
      });
      up.on('trailers', (th: IncomingHttpHeaders) => {
        trailers = withFields({}, flatFields(th));
      });
      up.on('error', (err: unknown) => {
        if (settled) return;
        settled = true;
        const refusal = refusalOf(err, t.target);
        if (isMtlsFailure(refusal.code)) deps.metrics?.mtlsFailure(r.destination, refusal.code);
        refuse(refusal.code, refusal.message);
      });
      up.once('close', () => {
        if (!settled) {
          settled = true;
          refuse(
            'ACP_ERR_UPSTREAM_UNAVAILABLE',
            `${t.target} reset the stream (code ${up.rstCode ?? 'none'})`,
          );
        } else if (!stream.destroyed && up.rstCode !== undefined && up.rstCode !== constants.NGHTTP2_NO_ERROR)
          stream.close(up.rstCode);
      });
      stream.once('close', () => {
        if (!up.destroyed) up.close(constants.NGHTTP2_CANCEL);
      });
      if (!endStream) stream.pipe(up);
    },
  );

  return {
    tunnel(socket, head, host, port) {
      const t: Tunnel = { host, port, target: `${host}:${port}` };
      socket.on('error', () => undefined);
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      let first = head;
      const timer = setTimeout(
        () => refuseTunnel('no HTTP/2 preface or HTTP/1.1 request in time'),
        deps.config().limits.requestTimeoutMs,
      );
      const refuseTunnel = (why: string): void => {
        clearTimeout(timer);
        socket.removeListener('data', onData);
        const r = route(deps.config(), host, port);
        deps.metrics?.request(r.destination, 'deny', 'ACP_ERR_MESH_TUNNEL_NOT_H2', 0);
        deps.audit({
          method: 'CONNECT',
          target: t.target,
          destination: r.destination,
          status: statusForCode('ACP_ERR_MESH_TUNNEL_NOT_H2'),
          decision: 'deny',
          reason: 'ACP_ERR_MESH_TUNNEL_NOT_H2',
          message: `a tunnel to a meshed Service carries h2c or HTTP/1.1 only: ${why}`,
        });
        socket.destroy();
      };
      const start = (): void => {
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.pause();
        socket.unshift(first);
        accepting = t;
        try {
          server.emit('connection', socket);
        } finally {
          accepting = undefined;
        }
      };
      const startHttp1 = (http1: NonNullable<MeshH2Deps['http1']>): void => {
        clearTimeout(timer);
        socket.removeListener('data', onData);
        http1(socket, first, host, port);
      };
      const check = (): void => {
        const state = prefaceState(first);
        if (state === 'h2') start();
        else if (state === 'other' && deps.http1 && looksLikeHttp1(first)) {
          // Wait for the space after the method before deciding (a prefix of a method could still turn out otherwise).
          if (first.includes(0x20)) startHttp1(deps.http1);
        } else if (state === 'other')
          refuseTunnel('the tunnel started with neither the HTTP/2 preface nor an HTTP/1.1 request');
      };
      const onData = (chunk: Buffer): void => {
        first = Buffer.concat([first, chunk]);
        check();
      };
      socket.once('close', () => clearTimeout(timer));
      socket.on('data', onData); // every decision removes it
      if (first.length > 0) check();
    },
    close() {
      for (const s of served) s.destroy();
      for (const s of sessions.values()) s.session.destroy();
      sessions.clear();
    },
  };
}
