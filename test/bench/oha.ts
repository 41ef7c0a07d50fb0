// The HTTP load generator the benchmarks share: oha (crates.io), built by
// test/bench/sidecar/install.sh into the cache. Runs it pinned to the
// given cores and returns its JSON summary; a missing binary is an error
// that says how to install it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireBenchBin } from './bench-bin.ts';

const run = promisify(execFile);

export interface OhaResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  total: number;
}

/** The command line for oha pinned to `cores` (taskset), with JSON output. */
export function ohaCommand(args: string[], cores: string): string[] {
  return ['taskset', '-c', cores, requireBenchBin('oha'), '--no-tui', '--output-format', 'json', ...args];
}

export async function runOha(args: string[], cores: string): Promise<OhaResult> {
  const cmd = ohaCommand(args, cores);
  const { stdout } = await run(cmd[0]!, cmd.slice(1), { maxBuffer: 64 * 1024 * 1024 });
  const j = JSON.parse(stdout) as {
    summary: { requestsPerSec: number };
    latencyPercentiles: { p50: number; p99: number };
    statusCodeDistribution: Record<string, number>;
  };
  return {
    rps: j.summary.requestsPerSec,
    p50ms: j.latencyPercentiles.p50 * 1000,
    p99ms: j.latencyPercentiles.p99 * 1000,
    statuses: j.statusCodeDistribution,
    total: Object.values(j.statusCodeDistribution).reduce((a, b) => a + b, 0),
  };
}
