// Token-bucket rate limiting per key (a verified SPIFFE ID, a verified JWT
// subject, or the connection's source address; never a client-supplied
// header). Each key's bucket holds up to `burst` tokens and refills at
// `requestsPerSecond`; a request takes one token or is refused with the
// seconds until one is available (Retry-After). Keys are bounded: when full,
// the least recently refilled bucket is dropped. Pure; time is passed in.

export interface RateLimitSettings {
  requestsPerSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimiter {
  take(key: string, nowMs: number): RateDecision;
  readonly size: number;
}

const ALLOWED: RateDecision = { ok: true };

export function createRateLimiter(s: RateLimitSettings, maxKeys = 100_000): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const perMs = s.requestsPerSecond / 1000;
  return {
    take(key, nowMs) {
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxKeys) {
          const oldest = buckets.keys().next();
          if (!oldest.done) buckets.delete(oldest.value);
        }
        b = { tokens: s.burst, atMs: nowMs };
        buckets.set(key, b);
      } else {
        b.tokens = Math.min(s.burst, b.tokens + Math.max(0, nowMs - b.atMs) * perMs);
        b.atMs = nowMs;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return ALLOWED;
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / s.requestsPerSecond)) };
    },
    get size() {
      return buckets.size;
    },
  };
}
