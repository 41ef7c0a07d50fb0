// `npm run bench:operator [-- pki|identities|policies|scale]`: runs the operator
// benchmarks one after the other (all but scale by default: it writes tens of
// thousands of objects), each in its own process.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const all = ['pki', 'identities', 'policies'];
const chosen = process.argv.slice(2).filter((a) => [...all, 'scale'].includes(a));
let failed = 0;
for (const name of chosen.length ? chosen : all) {
  process.stdout.write(`\n## ${name}\n`);
  const r = spawnSync(process.execPath, [join(import.meta.dirname, `${name}.bench.ts`)], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
