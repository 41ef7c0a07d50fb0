import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { LightCounter, LightHistogram } from './request-metrics.ts';

const BOUNDS = [0.001, 0.01, 0.1, 1];
const OBSERVED: [string, number][] = [
  ['allow', 0.0004],
  ['allow', 0.002],
  ['allow', 0.002],
  ['deny', 0.5],
  ['allow', 3],
];

/** The same observations through prom-client's own classes and through the light ones. */
async function both(): Promise<{ theirs: Registry; ours: Registry }> {
  const theirs = new Registry();
  const ours = new Registry();
  const c = new Counter({
    name: 'x_total',
    help: 'h',
    labelNames: ['decision', 'reason'],
    registers: [theirs],
  });
  const h = new Histogram({
    name: 'x_seconds',
    help: 'h',
    labelNames: ['decision'],
    buckets: BOUNDS,
    registers: [theirs],
  });
  const lc = new LightCounter(ours, 'x_total', 'h');
  const lh = new LightHistogram(ours, 'x_seconds', 'h', BOUNDS);
  const counters = new Map<string, ReturnType<LightCounter['child']>>();
  const hists = new Map<string, ReturnType<LightHistogram['child']>>();
  for (const [decision, v] of OBSERVED) {
    c.labels(decision, 'R').inc();
    h.labels(decision).observe(v);
    if (!counters.has(decision)) counters.set(decision, lc.child({ decision, reason: 'R' }));
    if (!hists.has(decision)) hists.set(decision, lh.child({ decision }));
    counters.get(decision)!.value++;
    hists.get(decision)!.observe(v);
  }
  return Promise.resolve({ theirs, ours });
}

const sorted = (text: string): string[] => text.split('\n').filter(Boolean).sort();

describe('light request metrics', () => {
  it('expose exactly what prom-client Counter and Histogram expose', async () => {
    const { theirs, ours } = await both();
    assert.deepEqual(sorted(await ours.metrics()), sorted(await theirs.metrics()));
  });
  it('aggregate across cluster workers like prom-client metrics', async () => {
    const { theirs, ours } = await both();
    const a = AggregatorRegistry.aggregate([
      await theirs.getMetricsAsJSON(),
      await theirs.getMetricsAsJSON(),
    ]);
    const b = AggregatorRegistry.aggregate([await ours.getMetricsAsJSON(), await ours.getMetricsAsJSON()]);
    assert.deepEqual(sorted(await b.metrics()), sorted(await a.metrics()));
  });
});
