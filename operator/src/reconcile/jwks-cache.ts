// The operator's JWKS sources, shared by every policy that names the same
// jwksUri: each source is fetched in the background on its own schedule
// (the shortest refresh interval of its subscribers, backing off on
// failure), keeps the last good keys when a fetch fails, and tells its
// subscribing policies when something changed. Reconciles only read the
// cache, so a slow, huge or failing endpoint never blocks a reconcile.
import type { Logger } from 'pino';
import { errorMessage, isAcpError, type Jwk } from '@acp/crds';
import { backoffDelay, type Clock } from '@acp/kube';

export interface JwksSourceState {
  uri: string;
  keys: Jwk[] | undefined;
  lastSuccess: Date | undefined;
  lastError: { code: string; message: string; at: Date } | undefined;
  fetching: boolean;
  /** The lastSuccess value to show in status (refreshed at least hourly). */
  reported: Date | undefined;
}

/** How stale status.jwks[].lastSuccessfulFetch may get when nothing else changes. */
export const STATUS_FRESHNESS_MS = 3_600_000;

interface Source extends JwksSourceState {
  subscribers: Map<string, number>;
  notifiedAt: number;
  failures: number;
  cancel: (() => void) | undefined;
}

export interface JwksCacheOptions {
  fetch: (uri: string) => Promise<Jwk[]>;
  clock: Clock;
  logger: Logger;
  /** Called with the policy keys subscribed to a source whose state changed. */
  onChange: (policyKeys: string[]) => void;
  onResult?: (uri: string, ok: boolean, code?: string) => void;
}

export class JwksCache {
  private readonly sources = new Map<string, Source>();
  private readonly o: JwksCacheOptions;

  constructor(o: JwksCacheOptions) {
    this.o = o;
  }

  /** Declares which URIs a policy needs (refresh in seconds); unused sources stop. */
  subscribe(policyKey: string, wanted: readonly { uri: string; refreshSeconds: number }[]): void {
    for (const [uri, s] of this.sources) {
      if (!wanted.some((w) => w.uri === uri) && s.subscribers.delete(policyKey) && s.subscribers.size === 0) {
        s.cancel?.();
        this.sources.delete(uri);
      }
    }
    for (const w of wanted) {
      let s = this.sources.get(w.uri);
      if (!s) {
        s = {
          uri: w.uri,
          keys: undefined,
          lastSuccess: undefined,
          lastError: undefined,
          fetching: false,
          subscribers: new Map(),
          failures: 0,
          cancel: undefined,
          notifiedAt: 0,
          reported: undefined,
        };
        this.sources.set(w.uri, s);
        s.subscribers.set(policyKey, w.refreshSeconds);
        void this.refresh(s);
      } else {
        s.subscribers.set(policyKey, w.refreshSeconds);
      }
    }
  }

  unsubscribe(policyKey: string): void {
    this.subscribe(policyKey, []);
  }

  state(uri: string): JwksSourceState | undefined {
    return this.sources.get(uri);
  }

  stop(): void {
    for (const s of this.sources.values()) s.cancel?.();
    this.sources.clear();
  }

  private schedule(s: Source, ms: number): void {
    s.cancel?.();
    s.cancel = this.o.clock.setTimer(() => void this.refresh(s), ms);
  }

  private async refresh(s: Source): Promise<void> {
    if (this.sources.get(s.uri) !== s || s.fetching) return;
    s.fetching = true;
    const before = JSON.stringify([s.keys, s.lastError?.code, s.lastError?.message]);
    try {
      const keys = await this.o.fetch(s.uri);
      s.keys = keys;
      s.lastSuccess = this.o.clock.now();
      s.lastError = undefined;
      s.failures = 0;
      this.o.onResult?.(s.uri, true);
    } catch (e) {
      const code = isAcpError(e) ? e.code : 'ACP_ERR_JWKS_UNREACHABLE';
      s.lastError = { code, message: errorMessage(e), at: this.o.clock.now() };
      s.failures++;
      this.o.onResult?.(s.uri, false, code);
      this.o.logger.warn(
        { uri: s.uri, code, err: s.lastError.message, keepsKeys: s.keys?.length ?? 0 },
        'JWKS fetch failed; the last good keys stay in force',
      );
    } finally {
      s.fetching = false;
    }
    const interval = Math.min(...s.subscribers.values()) * 1000;
    const next =
      s.failures > 0
        ? Math.min(interval, backoffDelay(s.failures, { baseMs: 2000, maxMs: 300_000 }, Math.random()))
        : interval;
    if (this.sources.get(s.uri) === s) this.schedule(s, next);
    // Notify on change; a bare successful refresh only every STATUS_FRESHNESS_MS, so status writes stay rare.
    const after = JSON.stringify([s.keys, s.lastError?.code, s.lastError?.message]);
    const now = this.o.clock.now().getTime();
    if (after !== before || now - s.notifiedAt >= STATUS_FRESHNESS_MS) {
      s.notifiedAt = now;
      s.reported = s.lastSuccess;
      this.o.onChange([...s.subscribers.keys()]);
    }
  }
}
