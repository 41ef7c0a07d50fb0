// The inbound listener's accept gate: every TCP connection passes here
// before TLS sees a byte of it. Past limits.maxConnections open connections
// the listener closes new ones itself (net.Server maxConnections, its
// 'drop' event); past limits.maxPendingHandshakesPerAddress connections
// from one client address whose handshake has not completed, the new one is
// closed here. Both are counted (acp_sidecar_connections_refused_total,
// reason ACP_ERR_CONNECTION_LIMIT / ACP_ERR_HANDSHAKE_LIMIT) and logged at
// most once per 10 s per reason, with the number refused meanwhile (a
// flood must not flood the log). The gate also remembers when each
// connection was accepted: the first request's headers timeout counts from
// there (server/inbound.ts).
import type { Socket } from 'node:net';
import type { Server, TLSSocket } from 'node:tls';
import type { ConnectionCode } from '../codes.ts';
import type { Metrics } from '../metrics.ts';

/** Handshakes in progress per client address. Pure. */
export class PendingHandshakes {
  private readonly byAddress = new Map<string, number>();
  private count = 0;

  /** Counts one more for `address` unless it has `max` already. */
  tryAdd(address: string, max: number): boolean {
    const n = this.byAddress.get(address) ?? 0;
    if (n >= max) return false;
    this.byAddress.set(address, n + 1);
    this.count++;
    return true;
  }

  remove(address: string): void {
    const n = this.byAddress.get(address);
    if (n === undefined) return;
    if (n <= 1) this.byAddress.delete(address);
    else this.byAddress.set(address, n - 1);
    this.count--;
  }

  of(address: string): number {
    return this.byAddress.get(address) ?? 0;
  }

  get total(): number {
    return this.count;
  }
}

/** Says when a refusal is worth a log line: the first one, then at most one per interval per reason. Pure. */
export class RefusalLog {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();
  private readonly intervalMs: number;
  private readonly nowMs: () => number;

  constructor(intervalMs: number, nowMs: () => number) {
    this.intervalMs = intervalMs;
    this.nowMs = nowMs;
  }

  /** Returns how many refusals (this one included) the line should report, or undefined: stay quiet. */
  note(reason: string): number | undefined {
    const now = this.nowMs();
    const s = this.last.get(reason);
    if (s && now - s.atMs < this.intervalMs) {
      s.suppressed++;
      return undefined;
    }
    const count = (s?.suppressed ?? 0) + 1;
    this.last.set(reason, { atMs: now, suppressed: 0 });
    return count;
  }
}

export interface GateLimits {
  readonly maxConnections: number;
  readonly maxPendingHandshakesPerAddress: number;
}

export interface GateDeps {
  limits: () => GateLimits;
  metrics: Metrics;
  log: { warn(obj: object, msg: string): void };
  nowMs: () => number;
}

export interface ConnectionGate {
  /** Installs the limits of the current snapshot (new connections only). */
  applyLimits(): void;
  /** The handshake of `socket` completed: it no longer counts as pending; returns when it was accepted. */
  handshakeDone(socket: TLSSocket): number;
}

const LOG_INTERVAL_MS = 10_000;

export function clientAddress(socket: { remoteAddress?: string | undefined }): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

interface Accepted {
  readonly address: string;
  readonly acceptedMs: number;
  pending: boolean;
}

export function installConnectionGate(server: Server, deps: GateDeps): ConnectionGate {
  // tls.Server wraps each TCP connection in its 'connection' listener: the gate runs instead and calls it.
  const wrap = server.listeners('connection') as ((this: Server, socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const pending = new PendingHandshakes();
  const accepted = new Map<string, Accepted>();
  const refusals = new RefusalLog(LOG_INTERVAL_MS, deps.nowMs);
  let open = 0;
  deps.metrics.observeConnections(() => ({ open, pending: pending.total }));

  const refused = (reason: ConnectionCode, address: string): void => {
    deps.metrics.connectionRefused(reason);
    const count = refusals.note(reason);
    if (count !== undefined) {
      deps.log.warn(
        { type: 'event', reason, count, lastClient: address, ...deps.limits() },
        'inbound connections refused at accept',
      );
    }
  };
  const settle = (entry: Accepted): void => {
    if (!entry.pending) return;
    entry.pending = false;
    pending.remove(entry.address);
  };

  server.on('drop', (data?: { remoteAddress?: string }) =>
    refused('ACP_ERR_CONNECTION_LIMIT', clientAddress(data ?? {})),
  );
  server.on('connection', (raw: Socket) => {
    const address = clientAddress(raw);
    if (!pending.tryAdd(address, deps.limits().maxPendingHandshakesPerAddress)) {
      raw.destroy();
      refused('ACP_ERR_HANDSHAKE_LIMIT', address);
      return;
    }
    open++;
    const key = `${address}|${raw.remotePort ?? 0}`;
    const entry: Accepted = { address, acceptedMs: deps.nowMs(), pending: true };
    accepted.set(key, entry);
    raw.once('close', () => {
      open--;
      settle(entry);
      if (accepted.get(key) === entry) accepted.delete(key);
    });
    for (const listener of wrap) listener.call(server, raw);
  });

  const apply = (): void => {
    server.maxConnections = deps.limits().maxConnections;
  };
  apply();
  return {
    applyLimits: apply,
    handshakeDone(socket) {
      const key = `${clientAddress(socket)}|${socket.remotePort ?? 0}`;
      const entry = accepted.get(key);
      if (!entry) return deps.nowMs();
      accepted.delete(key);
      settle(entry);
      return entry.acceptedMs;
    },
  };
}
