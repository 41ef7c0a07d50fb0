// Time, passed in everywhere instead of read from globals, so planning and
// scheduling are testable with the fake clock of testing/fake-clock.ts.
// The one Clock of the operator and the webhook.

export interface Clock {
  now(): Date;
  /** Calls fn after ms; returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => clearTimeout(t);
  },
};
