// The keep-alive pool to the app on host:port, the sidecar's upstream leg
// (instead of undici: no per-request Request object, header re-validation,
// WASM parser or timer per request). Idle connections are reused most
// recent first; at most `maxConnections` are open, further requests wait
// in order. One coarse ticker (only while there is work) enforces the
// timeouts: connect -> ACP_ERR_UPSTREAM_TIMEOUT, no response head or no
// response progress within the request's timeoutMs -> ACP_ERR_UPSTREAM_
// TIMEOUT, and closes connections idle longer than keepAliveMs. A bodiless
// GET/HEAD/OPTIONS that fails on a reused connection before any response
// byte (the app closed an idle keep-alive connection as we wrote) is sent
// once more on a new connection; nothing else is retried.
import type { AcpError } from '@acp/crds/sidecar';
import {
  Connection,
  timedOut,
  unavailable,
  type ConnectionOwner,
  type ExchangeState,
  type UpstreamHandler,
  type UpstreamRequest,
} from './connection.ts';

export type { UpstreamHandler, UpstreamRequest } from './connection.ts';

export interface PoolOptions {
  host: string;
  port: number;
  maxConnections: number;
  connectTimeoutMs: number;
  keepAliveMs: number;
  maxHeadBytes: number;
  nowMs: () => number;
  /** Granularity of the timeouts (default 100 ms). */
  tickMs?: number;
}

/** One request in flight: the caller pauses and resumes the response, or abandons it. */
export interface Exchange {
  pause(): void;
  resume(): void;
  /** The client left (or its request timed out): resets the connection (if any) and calls nothing more. */
  abort(): void;
}

export interface PoolStats {
  open: number;
  idle: number;
  queued: number;
  inFlight: number;
}

const RETRYABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What an ended exchange points at instead of its request and caller (see PoolExchange.release). */
const ENDED_REQUEST: UpstreamRequest = { method: 'GET', head: '', body: null, timeoutMs: 0 };
const ENDED_HANDLER: UpstreamHandler = {
  onHead: () => undefined,
  onBody: () => undefined,
  onEnd: () => undefined,
  onError: () => undefined,
};

class PoolExchange implements ExchangeState, Exchange, UpstreamHandler {
  conn: Connection | null = null;
  lastActivityMs = 0;
  headSeen = false;
  paused = false;
  retried = false;
  done = false;
  /** Mutable only so that release() can drop it. */
  request: UpstreamRequest;
  readonly handler: UpstreamHandler = this;
  private user: UpstreamHandler;
  private readonly pool: UpstreamPool;

  constructor(pool: UpstreamPool, request: UpstreamRequest, user: UpstreamHandler) {
    this.pool = pool;
    this.request = request;
    this.user = user;
  }

  onHead(status: number, headers: string[], contentLength: number | undefined): void {
    if (!this.done) this.user.onHead(status, headers, contentLength);
  }

  onBody(chunk: Buffer): void {
    if (!this.done) this.user.onBody(chunk);
  }

  onEnd(keepAlive: boolean): void {
    if (this.settle()) this.release().onEnd(keepAlive);
  }

  onError(error: AcpError, afterHead: boolean): void {
    if (this.settle()) this.release().onError(error, afterHead);
  }

  pause(): void {
    this.paused = true;
    this.conn?.socket.pause();
  }

  resume(): void {
    this.paused = false;
    this.lastActivityMs = this.pool.nowMs();
    this.conn?.socket.resume();
  }

  abort(): void {
    if (!this.settle()) return;
    this.release();
    this.conn?.destroy(undefined, true);
  }

  private settle(): boolean {
    if (this.done) return false;
    this.done = true;
    this.pool.forget(this);
    return true;
  }

  /**
   * Drops the ended exchange's references to its request and its caller,
   * and returns the caller. An exchange that was in flight when V8 ran a
   * young-generation GC was promoted to the old generation; once ended it
   * is garbage, but until the next full GC its pointers still count as
   * live to the young-generation GC, which then promoted everything the
   * caller's request reached (context, heads, response): measured ~1.7 KB
   * promoted per request at full load and a mark-compact every ~300 ms;
   * with the references dropped ~0.1 KB and about a fifth of the
   * mark-compacts (test/bench/sidecar/README.md).
   */
  private release(): UpstreamHandler {
    const user = this.user;
    this.user = ENDED_HANDLER;
    this.request = ENDED_REQUEST;
    return user;
  }
}

export class UpstreamPool implements ConnectionOwner {
  readonly nowMs: () => number;
  readonly maxHeadBytes: number;
  private readonly o: PoolOptions;
  private readonly idle: Connection[] = [];
  private readonly queue: PoolExchange[] = [];
  private readonly inFlight = new Set<PoolExchange>();
  private open = 0;
  private ticker: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(o: PoolOptions) {
    this.o = o;
    this.nowMs = o.nowMs;
    this.maxHeadBytes = o.maxHeadBytes;
  }

  get stats(): PoolStats {
    return {
      open: this.open,
      idle: this.idle.length,
      queued: this.queue.length,
      inFlight: this.inFlight.size,
    };
  }

  request(request: UpstreamRequest, handler: UpstreamHandler): Exchange {
    const ex = new PoolExchange(this, request, handler);
    ex.lastActivityMs = this.nowMs();
    this.inFlight.add(ex);
    if (this.closed) ex.onError(unavailable('shutting down'), false);
    else this.assign(ex, false);
    return ex;
  }

  /** Closes every connection; requests still waiting fail. */
  close(): Promise<void> {
    this.closed = true;
    for (const ex of [...this.queue]) ex.onError(unavailable('shutting down'), false);
    for (const c of [...this.idle]) c.destroy();
    for (const ex of [...this.inFlight]) ex.conn?.destroy(unavailable('shutting down'));
    this.stopTicker();
    return Promise.resolve();
  }

  // --- ConnectionOwner
  released(conn: Connection, reusable: boolean): void {
    if (!reusable) {
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      this.open--;
      this.drainQueue();
      return;
    }
    const next = this.queue.shift();
    if (next) conn.start(next);
    else if (this.closed) conn.destroy();
    else this.idle.push(conn);
  }

  failed(ex: ExchangeState, error: AcpError, connWasReused: boolean): void {
    const pex = ex as PoolExchange;
    const retry =
      connWasReused &&
      !pex.headSeen &&
      !pex.retried &&
      pex.request.body === null &&
      RETRYABLE.has(pex.request.method) &&
      error.code === 'ACP_ERR_UPSTREAM_UNAVAILABLE' &&
      !this.closed;
    if (retry && !pex.done) {
      pex.retried = true;
      this.assign(pex, true);
      return;
    }
    pex.onError(error, pex.headSeen);
  }

  /** Called by an exchange that ended (completed, failed or aborted). */
  forget(ex: PoolExchange): void {
    this.inFlight.delete(ex);
    const q = this.queue.indexOf(ex);
    if (q >= 0) this.queue.splice(q, 1);
    if (this.inFlight.size === 0 && this.idle.length === 0) this.stopTicker();
  }

  private assign(ex: PoolExchange, fresh: boolean): void {
    const conn = fresh ? undefined : this.idle.pop();
    if (conn) conn.start(ex);
    else if (this.open < this.o.maxConnections) this.connectFor(ex);
    else this.queue.push(ex);
    this.startTicker();
  }

  private connectFor(ex: PoolExchange): void {
    this.open++;
    new Connection(this, this.o.host, this.o.port).start(ex);
  }

  private drainQueue(): void {
    const next = this.queue[0];
    if (next && this.open < this.o.maxConnections && !this.closed) {
      this.queue.shift();
      this.connectFor(next);
    }
  }

  private startTicker(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => this.tick(), this.o.tickMs ?? 100);
    this.ticker.unref();
  }

  private stopTicker(): void {
    if (!this.ticker) return;
    clearInterval(this.ticker);
    this.ticker = null;
  }

  private tick(): void {
    const now = this.nowMs();
    for (const ex of this.inFlight) {
      const conn = ex.conn;
      if (ex.paused) continue;
      if (conn && !conn.connected && now - conn.openedMs > this.o.connectTimeoutMs) {
        conn.destroy(timedOut('accept the connection'));
      } else if (now - ex.lastActivityMs > ex.request.timeoutMs) {
        if (conn) conn.destroy(timedOut('answer'));
        else ex.onError(timedOut('free a connection'), false);
      }
    }
    for (const c of [...this.idle]) if (now - c.idleSinceMs > this.o.keepAliveMs) c.destroy();
    if (this.inFlight.size === 0 && this.idle.length === 0) this.stopTicker();
  }
}
