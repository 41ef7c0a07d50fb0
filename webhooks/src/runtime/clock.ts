// Time as a dependency: the current time and one-shot timers, so tests can
// drive rotations and restarts without waiting. No singletons: main.ts
// passes systemClock; tests pass their own.

export interface Clock {
  now(): Date;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};
