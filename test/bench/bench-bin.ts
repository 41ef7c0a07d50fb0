// Where the benchmarks' own tools live: ${ACP_CACHE_DIR:-~/.cache/acp}/bench-bin/bin,
// filled by test/bench/sidecar/install.sh (oha, acp-loadgen). A missing
// tool is an error that says how to install it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The path of a tool in the bench cache (it may not exist yet). */
function benchBin(name: string): string {
  return join(
    process.env['ACP_CACHE_DIR'] ?? join(process.env['HOME'] ?? '/root', '.cache/acp'),
    'bench-bin/bin',
    name,
  );
}

/** The path of an installed tool, or an error naming the install command. */
export function requireBenchBin(name: string): string {
  const path = benchBin(name);
  if (!existsSync(path)) {
    throw new Error(`${name} is not installed at ${path}: run \`bash test/bench/sidecar/install.sh\` first`);
  }
  return path;
}
