// The mesh benchmark (issue 20): an app's call by Service name through its
// sidecar (outbound proxy, the mesh directory) over mTLS keep-alive to the
// callee's sidecar and its app, against the same call made directly in
// plain HTTP to the app. acp-loadgen (open loop, 1,000 req/s, 16 keep-alive
// connections; -proxy for the meshed arm) measures latency from each
// request's due time; "added" is mesh minus direct in the same round.
// CPU per request of each sidecar from /proc. Both sidecars run the built
// JavaScript with the injected node flags, pinned to core 0; the app (nginx
// `return 200`) and the load generator to core 1 (--cores split: a pod pair,
// caller sidecar + load generator on core 0, callee sidecar + app on core 1).
// Rounds rotate the order of the arms; the summary gives medians. Each mesh
// phase also reports, from the sidecars' own metrics, their GC pauses, worst
// event-loop delay, new inbound mTLS handshakes (callee) and retries.
// Usage:
//   node test/bench/sidecar/mesh.ts [--seconds 10] [--rounds 3] [--rate 1000]
//     [--cores shared|split] [--warmup SECONDS]
// BENCH_BASELINE_TREE=DIR adds an arm through a caller sidecar built from
// that checkout (before/after in the same rounds); BENCH_MESH_NODE_FLAGS adds
// node flags to both sidecars. (acp-loadgen with -proxy:
// `bash test/bench/sidecar/install.sh`.)
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SidecarConfig } from '@acp/crds';
import { TestPki, type Issued } from '../../../sidecar/src/testing/pki.ts';
import { runLoadgen, type LoadgenResult } from '../loadgen.ts';
import { freePort } from '../../harness/ports.ts';
import { PORTS, SHIPPED_NODE_FLAGS, sidecarArgs, sidecarConfig, upstreamNginx } from './configs.ts';
import { benchWorkspace, median, sleep } from './procs.ts';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    // shared: both sidecars on core 0, app and load generator on core 1 (the recorded runs);
    // split: a pod pair, the caller sidecar with the load generator (the calling app) on core 0,
    // the callee sidecar with its app on core 1.
    cores: { type: 'string', default: 'shared' },
    // Seconds of the same load, unmeasured, before each measured phase (0: the recorded runs, where
    // a mesh phase after a direct one starts with the caller's pool closed by its idle timeout).
    warmup: { type: 'string', default: '0' },
  },
});
const SECONDS = Number(flags.seconds);
const ROUNDS = Number(flags.rounds);
const RATE = Number(flags.rate);
const WARMUP = Number(flags.warmup);
const SPLIT = flags.cores === 'split';
if (!SPLIT && flags.cores !== 'shared') throw new Error('--cores is shared or split');
const CORE = SPLIT
  ? { caller: '0', callee: '1', app: '1', loadgen: '0' }
  : { caller: '0', callee: '0', app: '1', loadgen: '1' };
/** BENCH_MESH_NODE_FLAGS: extra node flags for both sidecars (e.g. --trace-gc; output in DIR/<name>.log). */
const EXTRA_FLAGS = (process.env['BENCH_MESH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
const CALLER_ID = 'spiffe://cluster.local/ns/bench/sa/caller';
const CALLEE_ID = 'spiffe://cluster.local/ns/bench/sa/callee';

// BENCH_BASELINE_TREE=DIR: a second caller sidecar built from that checkout, measured in the same rounds.
const { dir, main: MAIN, baselineMain: BASELINE_MAIN, start } = benchWorkspace('acp-bench-mesh-');
const say = (s: string): void => void process.stdout.write(`${s}\n`);

/** BENCH_MESH_PROFILE=1: CPU profiles of both sidecars under DIR/<name>-prof (written at exit). */
const profile = (name: string): string[] =>
  process.env['BENCH_MESH_PROFILE'] === '1'
    ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, `${name}-prof`)}`]
    : [];

/** A sidecar with this identity and config, pinned to its core, the way it is injected. */
function sidecar(
  role: 'caller' | 'callee',
  id: Issued,
  ca: Issued,
  config: SidecarConfig,
  variant: { main: string; name: string } = { main: MAIN, name: role },
): ChildProcess {
  const { main, name } = variant;
  const identity = join(dir, `${name}-identity`);
  mkdirSync(identity);
  writeFileSync(join(identity, 'tls.crt'), id.cert);
  writeFileSync(join(identity, 'tls.key'), id.key);
  writeFileSync(join(identity, 'ca.crt'), ca.cert);
  const configPath = join(dir, `${name}.json`);
  writeFileSync(configPath, JSON.stringify(config));
  const cmd = [
    'taskset',
    '-c',
    CORE[role],
    process.execPath,
    ...SHIPPED_NODE_FLAGS,
    ...EXTRA_FLAGS,
    ...profile(name),
    main,
    ...sidecarArgs(configPath, identity),
  ];
  return start(cmd, `${name}.log`);
}

async function ready(adminPort: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`the sidecar on admin port ${adminPort} never became ready`);
}

/** CPU seconds (user + system) of one process so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** The node process under `sh -c exec taskset ... node`: exec keeps the pid. */
const pidOf = (p: ChildProcess): number => p.pid ?? 0;

/** Every sample of a sidecar's /metrics, `name{labels}` -> value. */
async function scrape(adminPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The sum of the samples whose key starts with `prefix`, after minus before. */
const delta = (after: Map<string, number>, before: Map<string, number>, prefix: string): number => {
  let d = 0;
  for (const [k, v] of after) if (k.startsWith(prefix)) d += v - (before.get(k) ?? 0);
  return d;
};

/**
 * What one sidecar did during a phase, from its own metrics: GC pauses by kind
 * (count and total ms), the event loop's worst delay (prom-client's
 * monitorEventLoopDelay, reset at each scrape), new inbound TLS handshakes and
 * outbound retries.
 */
function phaseFacts(after: Map<string, number>, before: Map<string, number>): string {
  const gc = ['minor', 'major', 'incremental']
    .map((kind) => {
      const key = `acp_sidecar_nodejs_gc_duration_seconds_`;
      const n = delta(after, before, `${key}count{kind="${kind}"}`);
      const ms = delta(after, before, `${key}sum{kind="${kind}"}`) * 1000;
      return n > 0 ? `${kind} ${n} (${ms.toFixed(0)} ms)` : '';
    })
    .filter(Boolean)
    .join(', ');
  const lag = (after.get('acp_sidecar_nodejs_eventloop_lag_max_seconds') ?? 0) * 1000;
  const hs = delta(after, before, 'acp_sidecar_tls_handshakes_total');
  const retries = delta(after, before, 'acp_sidecar_outbound_retries_total');
  return `GC ${gc || 'none'}; event-loop delay max ${lag.toFixed(1)} ms; inbound handshakes ${hs}; retries ${retries}`;
}

// --- material and processes ------------------------------------------------------
const pki = new TestPki(join(dir, 'pki'));
const ca = pki.root('ca');
const callee = pki.workload('callee', CALLEE_ID);
const caller = pki.workload('caller', CALLER_ID);
// Free ports, not run.ts's fixed ones: another benchmark may be running on the machine.
const port = { upstream: await freePort(), callee: await freePort(), calleeAdmin: await freePort() };
const CALLER_PORTS = { inbound: await freePort(), admin: await freePort(), outbound: await freePort() };
writeFileSync(
  join(dir, 'upstream.conf'),
  upstreamNginx(dir).replace(`127.0.0.1:${PORTS.upstream}`, `127.0.0.1:${port.upstream}`),
);
mkdirSync(join(dir, 'up-tmp'));
start(['taskset', '-c', CORE.app, 'nginx', '-c', join(dir, 'upstream.conf')], 'upstream.log');

const calleeConfig: SidecarConfig = {
  ...sidecarConfig(null, CALLER_ID),
  listeners: { inboundPort: port.callee, adminPort: port.calleeAdmin, outboundPort: await freePort() },
  upstream: { host: '127.0.0.1', port: port.upstream, connectTimeoutMs: 1000 },
};
const callerConfig: SidecarConfig = {
  ...sidecarConfig(null, CALLEE_ID),
  listeners: {
    inboundPort: CALLER_PORTS.inbound,
    adminPort: CALLER_PORTS.admin,
    outboundPort: CALLER_PORTS.outbound,
  },
  upstream: { host: '127.0.0.1', port: port.upstream, connectTimeoutMs: 1000 },
  mesh: {
    services: [
      {
        namespace: 'bench',
        name: 'callee',
        names: ['callee.bench', 'callee.bench.svc', 'callee.bench.svc.cluster.local'],
        ports: [8080],
        address: '127.0.0.1',
        port: port.callee,
        identities: [CALLEE_ID],
      },
    ],
  },
};
const calleeProc = sidecar('callee', callee, ca, calleeConfig);
const callerProc = sidecar('caller', caller, ca, callerConfig);
await ready(port.calleeAdmin);
await ready(CALLER_PORTS.admin);

const DIRECT = ['-url', `http://127.0.0.1:${port.upstream}/`];
const meshTarget = (outbound: number): string[] => [
  '-url',
  'http://callee:8080/',
  '-proxy',
  `http://127.0.0.1:${outbound}`,
];
const load = (target: string[], seconds = SECONDS): Promise<LoadgenResult> =>
  runLoadgen([...target, '-rate', String(RATE), '-c', '16', '-d', `${seconds}s`], CORE.loadgen).catch(
    (e: unknown) => {
      const msg = String((e as { stderr?: string }).stderr ?? e);
      if (msg.includes('-proxy'))
        throw new Error('acp-loadgen lacks -proxy: run `bash test/bench/sidecar/install.sh`');
      throw e;
    },
  );

/** One arm of a round: the direct call, or the mesh through one caller sidecar. */
interface Arm {
  name: string;
  target: string[];
  /** The caller sidecar and its admin port (mesh arms). */
  caller?: { proc: ChildProcess; admin: number };
}
const arms: Arm[] = [
  { name: 'direct', target: DIRECT },
  {
    name: 'mesh',
    target: meshTarget(CALLER_PORTS.outbound),
    caller: { proc: callerProc, admin: CALLER_PORTS.admin },
  },
];
if (BASELINE_MAIN) {
  const ports = { inbound: await freePort(), admin: await freePort(), outbound: await freePort() };
  const config = {
    ...callerConfig,
    listeners: { inboundPort: ports.inbound, adminPort: ports.admin, outboundPort: ports.outbound },
  };
  const proc = sidecar('caller', caller, ca, config, { main: BASELINE_MAIN, name: 'caller-baseline' });
  await ready(ports.admin);
  arms.push({
    name: 'mesh-baseline',
    target: meshTarget(ports.outbound),
    caller: { proc, admin: ports.admin },
  });
}

say(
  `# mesh benchmark: ${ROUNDS} rounds x ${SECONDS} s at ${RATE} req/s (open loop, 16 keep-alive connections)` +
    (WARMUP > 0 ? `, each phase after ${WARMUP} s of the same load unmeasured` : ''),
);
say(
  `# node ${process.version}, sidecar flags ${[...SHIPPED_NODE_FLAGS, ...EXTRA_FLAGS].join(' ')}; ` +
    (SPLIT
      ? 'caller sidecar and load generator on core 0, callee sidecar and app on core 1'
      : 'sidecars on core 0, app and load generator on core 1'),
);
if (BASELINE_MAIN)
  say(`# mesh-baseline: the caller sidecar built from ${process.env['BENCH_BASELINE_TREE']}`);
say(`# logs and audit records in ${dir}`);
for (const arm of arms) await load(arm.target, 2); // warm-up: connections, JIT

interface Phase {
  result: LoadgenResult;
  callerUs: number;
  calleeUs: number;
}
/** One measured phase of an arm; a mesh arm also reports each sidecar's CPU per request and its metrics. */
async function phase(arm: Arm): Promise<Phase> {
  if (WARMUP > 0) await load(arm.target, WARMUP);
  if (!arm.caller) return { result: await load(arm.target), callerUs: 0, calleeUs: 0 };
  const { proc, admin } = arm.caller;
  const m0 = [await scrape(admin), await scrape(port.calleeAdmin)];
  const c0 = [cpuSeconds(pidOf(proc)), cpuSeconds(pidOf(calleeProc))];
  const result = await load(arm.target);
  const c1 = [cpuSeconds(pidOf(proc)), cpuSeconds(pidOf(calleeProc))];
  const m1 = [await scrape(admin), await scrape(port.calleeAdmin)];
  const n = Math.max(1, result.total);
  const p: Phase = {
    result,
    callerUs: (((c1[0] ?? 0) - (c0[0] ?? 0)) * 1e6) / n,
    calleeUs: (((c1[1] ?? 0) - (c0[1] ?? 0)) * 1e6) / n,
  };
  say(
    `  ${arm.name}: p50 ${result.p50ms.toFixed(2)} p99 ${result.p99ms.toFixed(2)} p99.9 ${result.p999ms.toFixed(2)} ms ` +
      `(${result.total} requests, ${result.errors} errors, statuses ${JSON.stringify(result.statuses)}); ` +
      `CPU/request caller ${p.callerUs.toFixed(0)} us, callee ${p.calleeUs.toFixed(0)} us`,
  );
  say(`    caller: ${phaseFacts(m1[0]!, m0[0]!)}`);
  say(`    callee: ${phaseFacts(m1[1]!, m0[1]!)}`);
  return p;
}

// Round i runs the arms rotated by i (two arms: direct first in odd rounds, mesh first in even ones).
const phases = new Map<string, Phase[]>(arms.map((a) => [a.name, []]));
for (let i = 0; i < ROUNDS; i++) {
  say(`round ${i + 1}:`);
  const order = [...arms.slice(i % arms.length), ...arms.slice(0, i % arms.length)];
  const got = new Map<string, Phase>();
  for (const arm of order) got.set(arm.name, await phase(arm));
  const direct = got.get('direct')!.result;
  say(`  direct: p50 ${direct.p50ms.toFixed(2)} p99 ${direct.p99ms.toFixed(2)} ms`);
  for (const [name, p] of got) phases.get(name)!.push(p);
}
const med = (name: string, f: (p: Phase, i: number) => number, digits = 2): string =>
  median((phases.get(name) ?? []).map(f)).toFixed(digits);
const direct = phases.get('direct') ?? [];
say('\n## medians');
say(
  `direct (plain HTTP to the app): p50 ${med('direct', (p) => p.result.p50ms)} ms, p99 ${med('direct', (p) => p.result.p99ms)} ms`,
);
for (const arm of arms.filter((a) => a.caller)) {
  const n = arm.name;
  say(
    `${n} (caller sidecar -> mTLS -> callee sidecar -> app): p50 ${med(n, (p) => p.result.p50ms)} ms, p99 ${med(n, (p) => p.result.p99ms)} ms`,
  );
  say(
    `  added by the two sidecars: p50 +${med(n, (p, i) => p.result.p50ms - (direct[i]?.result.p50ms ?? 0))} ms, ` +
      `p99 +${med(n, (p, i) => p.result.p99ms - (direct[i]?.result.p99ms ?? 0))} ms (target: p99 <= +1.5 ms)`,
  );
  say(
    `  CPU per request: caller sidecar ${med(n, (p) => p.callerUs, 0)} us, callee sidecar ${med(n, (p) => p.calleeUs, 0)} us`,
  );
}
process.exit(0);
