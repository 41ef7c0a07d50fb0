// The verified-token cache: a token that verified once is trusted until it
// expires (or its maximum age is reached), so a client that reuses its
// token pays no signature check per request. Keyed by the token string
// itself: a Map lookup compares the whole token, so no hash collision can
// stand in for another token, and it costs a fraction of a SHA-256 per
// request. The price is that verified tokens stay in memory until they
// expire or are evicted (bounded by entries and by total token bytes; the
// oldest entry goes first). The last token served is remembered besides
// the Map: a client reusing its token is then one string comparison, no
// string hashing. Owned by one config snapshot: a new config starts an
// empty cache. The clock is passed in.

export interface CachedToken<T> {
  readonly value: T;
  readonly untilMs: number;
}

export interface TokenCache<T> {
  get(token: string, nowMs: number): T | undefined;
  set(token: string, value: T, untilMs: number): void;
  readonly size: number;
  /** Sum of the lengths of the cached tokens. */
  readonly bytes: number;
}

export function createTokenCache<T>(maxEntries = 10_000, maxBytes = 4 * 1024 * 1024): TokenCache<T> {
  const map = new Map<string, CachedToken<T>>();
  let bytes = 0;
  let lastToken: string | undefined;
  let lastHit: CachedToken<T> | undefined;
  const remove = (token: string): void => {
    if (token === lastToken) lastToken = lastHit = undefined;
    if (map.delete(token)) bytes -= token.length;
  };
  return {
    get(token, nowMs) {
      const hit = token === lastToken ? lastHit : map.get(token);
      if (!hit) return undefined;
      if (nowMs >= hit.untilMs) {
        remove(token);
        return undefined;
      }
      lastToken = token;
      lastHit = hit;
      return hit.value;
    },
    set(token, value, untilMs) {
      if (token.length > maxBytes) return;
      remove(token);
      while (map.size > 0 && (map.size >= maxEntries || bytes + token.length > maxBytes)) {
        const oldest = map.keys().next();
        if (oldest.done) break;
        remove(oldest.value);
      }
      map.set(token, { value, untilMs });
      bytes += token.length;
    },
    get size() {
      return map.size;
    },
    get bytes() {
      return bytes;
    },
  };
}
