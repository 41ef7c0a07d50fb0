// Inbound HTTP/2: a connection whose ALPN chose `h2` (and whose TLS
// identity was accepted, inbound.ts) is handed to node:http2 (framing,
// HPACK, flow control, nghttp2's checks of the message rules); each stream
// becomes a request of the same layer list as HTTP/1.1 (h2-request.ts is
// the adapter). What HTTP/2 adds to defend is here: the SETTINGS the
// sidecar announces (concurrent streams, header list size, HPACK table),
// node:http2's own caps (session memory, invalid frames, refused streams,
// outstanding PINGs and SETTINGS, nghttp2's reset and glitch rate limits),
// and per-session counters of what nghttp2 lets through but costs the
// sidecar work: PING and SETTINGS floods, streams opened and reset at once
// (rapid reset, CVE-2023-44487). A session that crosses a limit gets
// GOAWAY ENHANCE_YOUR_CALM and is closed; a stream that makes no progress
// for the request timeout (a zero window the client never opens, a body
// that never comes) is reset. Each cut is counted
// (acp_sidecar_http2_defences_total{reason}) and audited with its
// ACP_ERR_H2_* code.
import {
  constants,
  createServer,
  type Http2Server,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { AcpError } from '@acp/crds/sidecar';
import type { H2Code } from '../codes.ts';
import type { Policy } from '../config/policy.ts';
import { readH2Head } from '../http/h2-request.ts';
import { tooLarge } from '../layers/body-limit.ts';
import type { H2Facts, RequestContext } from '../pipeline/types.ts';
import { H2Request, H2Response } from './h2-request.ts';

/** Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
export const H2_MAX_STREAMS = 100;
/** Per-second budgets of frames that cost the sidecar work and give the client nothing it needs in bulk. */
export const H2_FLOOD_PER_SECOND = { ping: 20, settings: 20, reset: 100 } as const;
/** How long a session that was cut (GOAWAY ENHANCE_YOUR_CALM) may live on, so the GOAWAY reaches the client. */
const H2_CUT_GRACE_MS = 1000;
const HEADER_TABLE_SIZE = 4096;
/** An idle session (no stream open, no frame) closes after this. */
const SESSION_IDLE_MS = 60_000;
/** One listener shared by every stream (a closure per stream is garbage per request). */
const ignore = (): undefined => undefined;

/** True when the flat raw header list has a field named `name` (lower case). */
function hasField(raw: readonly string[], name: string): boolean {
  for (let i = 0; i < raw.length; i += 2) if (raw[i] === name) return true;
  return false;
}

export interface H2InboundDeps {
  policy: () => Policy;
  nowMs: () => number;
  /** Starts a request in the pipeline (inbound.ts). */
  request(req: H2Request, res: H2Response, protocolError: string | undefined, h2: H2Facts): RequestContext;
  /** The rescue: answers a request refused outside the layers (body over the cap, timeout). */
  fail: (ctx: RequestContext, e: AcpError) => void;
  /** Records the end of a request that the sidecar ended itself after the response head. */
  finish: (ctx: RequestContext, status: number, reason: string) => void;
  /** A session or stream cut by a defence: counted and audited. */
  defence(socket: TLSSocket, code: H2Code, detail: string): void;
  log: { warn(obj: object, msg: string): void };
}

export interface H2Inbound {
  /** Serves an accepted TLS connection whose ALPN protocol is h2. */
  serve(socket: TLSSocket): void;
  applySnapshot(): void;
  /** Sends GOAWAY to every session; they close once their streams end. */
  closeIdle(): void;
  closeAll(): void;
}

/** A per-second counter (no timer: the window restarts on the first event after it ends). */
class Budget {
  private start = 0;
  private n = 0;
  /** Counts one event; true when the second's budget is exceeded. */
  over(nowMs: number, limit: number): boolean {
    if (nowMs - this.start >= 1000) {
      this.start = nowMs;
      this.n = 0;
    }
    return ++this.n > limit;
  }
}

/**
 * The code of a session that node:http2 or nghttp2 ended itself, by its
 * message: CONTINUATION frames past nghttp2's cap (CVE-2024-27316), frames
 * that do no work past maxSessionInvalidFrames (empty DATA), streams
 * refused past maxSessionRejectedStreams (opened and reset faster than
 * they close: node:http2's side of rapid reset), nghttp2's glitch and
 * reset rate limits (ENHANCE_YOUR_CALM: PRIORITY and other frame floods),
 * anything else a protocol error. Pure.
 */
export function sessionErrorCode(message: string): H2Code {
  if (/CONTINUATION/i.test(message)) return 'ACP_ERR_H2_CONTINUATION_FLOOD';
  if (/invalid HTTP\/2 frames/i.test(message)) return 'ACP_ERR_H2_INVALID_FRAME_FLOOD';
  if (/user callback function failed/i.test(message)) return 'ACP_ERR_H2_STREAM_FLOOD';
  if (/ENHANCE_YOUR_CALM|flood|calm/i.test(message)) return 'ACP_ERR_H2_FLOOD';
  return 'ACP_ERR_H2_PROTOCOL';
}

function settingsOf(policy: Policy): Record<string, number | boolean> {
  const l = policy.config.limits;
  return {
    maxConcurrentStreams: H2_MAX_STREAMS,
    // HPACK-decoded size of the header list (names + values + 32 per field, RFC 9113 6.5.2).
    maxHeaderListSize: l.maxHeaderBytes + l.maxUrlBytes + 32 * 128,
    headerTableSize: HEADER_TABLE_SIZE,
    enablePush: false,
    enableConnectProtocol: false,
  };
}

export function createH2Inbound(deps: H2InboundDeps): H2Inbound {
  const sessions = new Set<ServerHttp2Session>();
  /** The TLS socket of each session (session.socket is a proxy, not the socket the identity was computed for). */
  const sockets = new WeakMap<object, TLSSocket>();
  /** The socket being handed to node:http2 (its 'session' event fires within the hand-over). */
  let accepting: TLSSocket | undefined;
  const server: Http2Server = createServer({
    settings: settingsOf(deps.policy()),
    maxHeaderListPairs: 128,
    maxSessionMemory: 10,
    maxOutstandingPings: 10,
    maxSettings: 32,
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    peerMaxConcurrentStreams: H2_MAX_STREAMS,
    // nghttp2's own rapid-reset limit, above the sidecar's counter (which names the cause).
    streamResetBurst: 1000,
    streamResetRate: 33,
  } as Parameters<typeof createServer>[0]);

  const cutSessions = new WeakSet<ServerHttp2Session>();
  const cut = (session: ServerHttp2Session, socket: TLSSocket, code: H2Code, detail: string): void => {
    if (session.destroyed || session.closed || cutSessions.has(session)) return;
    cutSessions.add(session);
    deps.defence(socket, code, detail);
    // GOAWAY (last stream id 0: nghttp2 ignores every new stream from here on), then the
    // session goes after a short grace, as Go's server does. Destroying it at once closed the
    // socket with the flood's bytes unread: the kernel answers that with a TCP RST, and the
    // client drops the GOAWAY that was on its way (seen under load: no GOAWAY, a reset).
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    const grace = setTimeout(() => session.destroy(), H2_CUT_GRACE_MS);
    grace.unref();
    session.once('close', () => clearTimeout(grace));
  };

  server.on('session', (session: ServerHttp2Session) => {
    const socket = accepting;
    if (!socket) {
      session.destroy();
      return;
    }
    sockets.set(session, socket);
    sessions.add(session);
    const pings = new Budget();
    const settings = new Budget();
    const resets = new Budget();
    session.setTimeout(SESSION_IDLE_MS, () => {
      session.close();
    });
    session.on('ping', () => {
      if (pings.over(deps.nowMs(), H2_FLOOD_PER_SECOND.ping))
        cut(session, socket, 'ACP_ERR_H2_PING_FLOOD', 'PING frames');
    });
    session.on('remoteSettings', () => {
      if (settings.over(deps.nowMs(), H2_FLOOD_PER_SECOND.settings))
        cut(session, socket, 'ACP_ERR_H2_SETTINGS_FLOOD', 'SETTINGS frames');
    });
    session.on('stream', (stream: ServerHttp2Stream) => {
      stream.once('aborted', () => {
        if (resets.over(deps.nowMs(), H2_FLOOD_PER_SECOND.reset))
          cut(session, socket, 'ACP_ERR_H2_RAPID_RESET', 'streams reset by the client');
      });
    });
    session.on('error', (err: Error) => deps.defence(socket, sessionErrorCode(err.message), err.message));
    session.on('frameError', () => undefined);
    session.once('close', () => sessions.delete(session));
  });

  server.on('stream', (stream: ServerHttp2Stream, _h: unknown, flags: number, rawHeaders: string[]) => {
    const socket = stream.session ? sockets.get(stream.session) : undefined;
    if (!socket) {
      stream.close(constants.NGHTTP2_INTERNAL_ERROR); // fail closed: no identity known for it
      return;
    }
    stream.on('error', ignore);
    const policy = deps.policy();
    const head = readH2Head(rawHeaders);
    const endStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    const req = new H2Request(stream, head, socket, endStream);
    // Assigned once the pipeline starts; the stream's listeners below read it.
    // eslint-disable-next-line prefer-const
    let ctx: RequestContext | undefined;
    const contentLength = hasField(rawHeaders, 'content-length');
    const facts: H2Facts = {
      grpc: head.grpc,
      grpcTimeoutMs: head.grpcTimeoutMs,
      bodyOpen: !endStream && !contentLength,
      limitBody(max, hardCap) {
        let total = 0;
        let recorded = false;
        stream.pause();
        stream.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (!ctx || ctx.done) return;
          if (total > hardCap || (total > max && ctx.policy.enforce)) {
            for (const r of ctx.conn.inFlight) if (r.ctx === ctx) r.abort();
            deps.fail(ctx, tooLarge(max));
            if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
          } else if (total > max && !recorded) {
            recorded = true;
            (ctx.wouldDeny ??= []).push('ACP_ERR_BODY_TOO_LARGE');
          }
        });
      },
    };
    const res = new H2Response(stream, head.grpc, ignore);
    const timeoutMs = Math.min(policy.config.limits.requestTimeoutMs, head.grpcTimeoutMs ?? Infinity);
    // No progress (no frame read or written) on the stream: a zero window the client never opens, a body that never comes.
    stream.setTimeout(policy.config.limits.requestTimeoutMs, () => {
      if (ctx && !ctx.done && !res.headersSent) {
        if (req.complete) return; // waiting for the app: its own timeout answers 504
        for (const r of ctx.conn.inFlight) if (r.ctx === ctx) r.abort();
        deps.fail(ctx, new AcpError('ACP_ERR_REQUEST_TIMEOUT', 'the request body made no progress'));
      } else if (!stream.destroyed) {
        deps.defence(socket, 'ACP_ERR_H2_STALLED', 'no progress on the stream');
        stream.close(constants.NGHTTP2_CANCEL);
      }
    });
    if (head.grpcTimeoutMs !== undefined) {
      // grpc-timeout: the call's deadline; past it the call ends as DEADLINE_EXCEEDED (504).
      const deadline = setTimeout(() => {
        if (!ctx || ctx.done) return;
        for (const r of ctx.conn.inFlight) if (r.ctx === ctx) r.abort();
        if (res.headersSent) {
          res.addTrailers(['grpc-status', '4', 'grpc-message', 'deadline exceeded']);
          res.end();
          deps.finish(ctx, 504, 'ACP_ERR_UPSTREAM_TIMEOUT');
        } else deps.fail(ctx, new AcpError('ACP_ERR_UPSTREAM_TIMEOUT', 'grpc-timeout passed'));
      }, timeoutMs);
      deadline.unref();
      stream.once('close', () => clearTimeout(deadline));
    }
    stream.once('close', () => {
      if (!ctx || ctx.done) return;
      for (const r of ctx.conn.inFlight) if (r.ctx === ctx) r.clientClosed();
    });
    ctx = deps.request(req, res, head.error, facts);
  });

  return {
    serve(socket) {
      accepting = socket;
      try {
        server.emit('connection', socket);
      } finally {
        accepting = undefined;
      }
    },
    applySnapshot() {
      server.updateSettings(settingsOf(deps.policy()));
    },
    closeIdle() {
      for (const s of sessions) s.close();
    },
    closeAll() {
      for (const s of sessions) s.destroy();
    },
  };
}
