// The benchmarks' latency probe: test/bench/loadgen (Go, standard library
// only), built by test/bench/sidecar/install.sh into the cache. Open loop
// at a fixed rate with latency counted from each request's due time, or
// closed loop; TLS with a client certificate; TCP_NODELAY. Used where
// oha's TLS client showed stalls of its own (40-60 ms at p99.9 against
// nginx answering 200 itself). Runs it pinned to the given cores and
// returns its JSON summary; a missing binary is an error that says how to
// build it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireBenchBin } from './bench-bin.ts';
import type { OhaResult } from './oha.ts';

const run = promisify(execFile);

/** oha's summary fields plus the tail and the requests that got no answer. */
export interface LoadgenResult extends OhaResult {
  p999ms: number;
  errors: number;
}

/** The command line for the load generator pinned to `cores` (taskset). */
export function loadgenCommand(args: string[], cores: string): string[] {
  return ['taskset', '-c', cores, requireBenchBin('acp-loadgen'), ...args];
}

export async function runLoadgen(args: string[], cores: string): Promise<LoadgenResult> {
  const cmd = loadgenCommand(args, cores);
  const { stdout } = await run(cmd[0]!, cmd.slice(1), { maxBuffer: 1024 * 1024 });
  const j = JSON.parse(stdout) as {
    requests: number;
    errors: number;
    statuses: Record<string, number>;
    rps: number;
    p50ms: number;
    p99ms: number;
    p999ms: number;
  };
  return {
    rps: j.rps,
    p50ms: j.p50ms,
    p99ms: j.p99ms,
    p999ms: j.p999ms,
    statuses: j.statuses,
    total: j.requests,
    errors: j.errors,
  };
}
