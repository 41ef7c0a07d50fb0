// Summarizes a V8 .cpuprofile (node --cpu-prof): self time by function and
// by area (TLS, HTTP parser, undici upstream, JWT/crypto, pino audit,
// metrics, our layers, GC/idle), so the benchmark note can say where the
// time goes. Usage: node test/bench/sidecar/profile.ts DIR_OR_FILE
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const arg = process.argv[2] ?? '.';
const file = statSync(arg).isDirectory()
  ? join(
      arg,
      readdirSync(arg)
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort()
        .at(-1) ?? '',
    )
  : arg;
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[] };
const byFn = new Map<string, number>();
const byArea = new Map<string, number>();
let total = 0;
const AREAS: [string, RegExp][] = [
  ['idle', /^\(idle\)$/],
  ['gc', /^\(garbage collector\)$/],
  ['upstream leg (sidecar/src/upstream, undici)', /sidecar\/src\/upstream|undici/],
  ['audit and log lines', /pipeline\/audit|line-sink|pino|sonic-boom/],
  ['request metrics', /request-metrics|prom-client/],
  [
    'tls / net (node internals)',
    /node:(_tls|tls|internal\/tls|net|internal\/stream_base|_stream|internal\/streams)/,
  ],
  ['http server (node internals)', /node:(_http|http|internal\/http)/],
  ['jose / crypto', /jose|node:(crypto|internal\/crypto)/],
  ['sidecar layers', /sidecar\/src|dist\/sidecar/],
  ['(program / native)', /^\(program\)$/],
];
for (const n of prof.nodes) {
  const hits = n.hitCount ?? 0;
  if (!hits) continue;
  total += hits;
  const name = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/sidecar\//, 'sidecar/')}:${n.callFrame.lineNumber}`;
  byFn.set(name, (byFn.get(name) ?? 0) + hits);
  const area =
    AREAS.find(([, re]) => re.test(n.callFrame.url) || re.test(n.callFrame.functionName))?.[0] ??
    'other (native calls: TLS encrypt/decrypt, writev, ...)';
  byArea.set(area, (byArea.get(area) ?? 0) + hits);
}
const pct = (h: number): string => `${((h / total) * 100).toFixed(1)}%`;
process.stdout.write(`profile ${file}: ${total} samples\n\nby area (self time):\n`);
for (const [a, h] of [...byArea].sort((x, y) => y[1] - x[1]))
  process.stdout.write(`  ${pct(h).padStart(6)}  ${a}\n`);
process.stdout.write('\ntop functions (self time):\n');
for (const [f, h] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, 25))
  process.stdout.write(`  ${pct(h).padStart(6)}  ${f}\n`);
