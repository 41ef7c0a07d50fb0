// The verified-token cache: a token that verified once is trusted until it
// expires (or its maximum age is reached), so a client that reuses its
// token pays no signature check per request. Keyed by a SHA-256 of the
// token: bearer tokens themselves are never kept in the sidecar's memory
// (a heap dump or core file holds no reusable credential), and a lookup
// costs one hash of a few hundred bytes (about a microsecond), against
// the tens of microseconds of a signature check. Bounded in entries (the
// oldest entry goes first) and owned by one config snapshot: a new config
// starts an empty cache. The clock is passed in.
import { hash } from 'node:crypto';

export interface CachedToken<T> {
  readonly value: T;
  readonly untilMs: number;
}

export interface TokenCache<T> {
  get(token: string, nowMs: number): T | undefined;
  set(token: string, value: T, untilMs: number): void;
  readonly size: number;
}

/** The cache key of a token: its SHA-256, base64url. */
export function tokenKey(token: string): string {
  return hash('sha256', token, 'base64url');
}

export function createTokenCache<T>(maxEntries = 10_000): TokenCache<T> {
  const map = new Map<string, CachedToken<T>>();
  return {
    get(token, nowMs) {
      const key = tokenKey(token);
      const hit = map.get(key);
      if (!hit) return undefined;
      if (nowMs >= hit.untilMs) {
        map.delete(key);
        return undefined;
      }
      return hit.value;
    },
    set(token, value, untilMs) {
      const key = tokenKey(token);
      map.delete(key);
      while (map.size >= maxEntries) {
        const oldest = map.keys().next();
        if (oldest.done) break;
        map.delete(oldest.value);
      }
      map.set(key, { value, untilMs });
    },
    get size() {
      return map.size;
    },
  };
}
