// The long differential fuzzing run of the sidecar's hand-written HTTP/1.1
// parsers against llhttp (node:http's parser): the fast path's request-head
// check and the upstream response parser (sidecar/src/testing/http-diff.ts
// says what is compared). `npm test` runs a short seeded slice of the same
// cases (sidecar/src/http/http-diff.test.ts); this runs as long as asked.
//
//   node test/bench/fuzz/http-diff.ts [--seed N] [--iterations N | --seconds S]
//                                     [--target request|response|both] [--from I]
//
// Without --seed a random one is chosen and printed. On a disagreement it
// prints the seed, the case index and the input (JSON), and exits 1:
// `--seed N --from I --iterations 1` replays exactly that case.
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fuzz, type FuzzStats } from '../../../sidecar/src/testing/http-diff.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    iterations: { type: 'string' },
    seconds: { type: 'string' },
    target: { type: 'string', default: 'both' },
    from: { type: 'string', default: '0' },
  },
});
const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
const targets = values.target === 'both' ? (['request', 'response'] as const) : ([values.target] as const);
if (!targets.every((t) => t === 'request' || t === 'response') || !Number.isInteger(seed)) {
  process.stderr.write(
    'usage: http-diff.ts [--seed N] [--iterations N | --seconds S] [--target request|response|both]\n',
  );
  process.exit(2);
}
const iterations = values.iterations === undefined ? Infinity : Number(values.iterations);
const seconds =
  values.seconds === undefined ? (values.iterations === undefined ? 60 : Infinity) : Number(values.seconds);
const from = Number(values.from);

/** JSON with every byte outside printable ASCII escaped (a NBSP or DEL must not look like a space). */
const asciiJson = (v: unknown): string =>
  JSON.stringify(v).replace(/[\x7f-\xff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

process.stdout.write(`seed ${seed}\n`);
let failed = false;
for (const target of targets) {
  const deadline = Date.now() + (seconds * 1000) / targets.length;
  const t0 = Date.now();
  const stats: FuzzStats = fuzz(target as 'request' | 'response', {
    seed,
    from,
    count: iterations,
    until: () => Date.now() >= deadline,
  });
  const s = (Date.now() - t0) / 1000;
  process.stdout.write(
    `${target}: ${stats.cases} cases in ${s.toFixed(1)} s (${Math.round(stats.cases / s)}/s); ` +
      `ours accepted ${stats.oursAccepted} (compared field by field), llhttp only ${stats.onlyLlhttp}, ` +
      `disagreements ${stats.disagreements.length}\n`,
  );
  for (const d of stats.disagreements) {
    failed = true;
    process.stdout.write(
      `DISAGREEMENT seed ${seed} case ${d.index} (${target}): ${d.why}\n  input ${asciiJson(d.c)}\n` +
        `  replay: node test/bench/fuzz/http-diff.ts --target ${target} --seed ${seed} --from ${d.index} --iterations 1\n`,
    );
  }
}
process.exit(failed ? 1 : 0);
