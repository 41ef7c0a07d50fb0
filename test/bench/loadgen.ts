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

/** TLS material for acp-loadgen: the CA that verifies the server, the client certificate and key. */
export interface ProbeTls {
  ca: string;
  cert: string;
  key: string;
}

/**
 * The benchmarks' latency probe: open loop at 2000 req/s over 16 keep-alive
 * connections for `seconds`, with the client certificate for https URLs.
 */
export function latencyProbeArgs(url: string, seconds: number, tls: ProbeTls): string[] {
  const material = url.startsWith('https') ? ['-cacert', tls.ca, '-cert', tls.cert, '-key', tls.key] : [];
  return ['-url', url, '-rate', '2000', '-c', '16', '-d', `${seconds}s`, ...material];
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

/** What `acp-loadgen -spin` reports: the gaps in one spinning thread's execution (spin.go). */
export interface SpinResult {
  seconds: number;
  gaps05ms: number;
  gaps1ms: number;
  gaps2ms: number;
  gaps4ms: number;
  lostPct: number;
  maxMs: number;
}

/** Spins alone on `cores` for `seconds` and returns how often the core was taken away. */
export async function runSpin(cores: string, seconds: number): Promise<SpinResult> {
  const cmd = loadgenCommand(['-spin', `${seconds}s`], cores);
  const { stdout } = await run(cmd[0]!, cmd.slice(1));
  return JSON.parse(stdout) as SpinResult;
}

/** One line for a report: gaps of >= 0.5 ms in the spin, the longest, the time lost. */
export function describeSpin(s: SpinResult): string {
  const over = s.gaps05ms + s.gaps1ms + s.gaps2ms + s.gaps4ms;
  return `${over} gaps >= 0.5 ms in ${s.seconds} s (>= 1 ms: ${s.gaps1ms + s.gaps2ms + s.gaps4ms}, >= 4 ms: ${s.gaps4ms}), longest ${s.maxMs.toFixed(2)} ms, ${s.lostPct.toFixed(2)}% of the time in gaps >= 0.05 ms`;
}
