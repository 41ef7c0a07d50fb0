// The mesh benchmark (issue 20): an app's call by Service name through its
// sidecar (outbound proxy, the mesh directory) over mTLS keep-alive to the
// callee's sidecar and its app, against the same call made directly in
// plain HTTP to the app. acp-loadgen (open loop, 1,000 req/s, 16 keep-alive
// connections; -proxy for the meshed arm) measures latency from each
// request's due time; "added" is mesh minus direct in the same round.
// CPU per request of each sidecar from /proc. Both sidecars run the built
// JavaScript with the injected node flags, pinned to core 0; the app (nginx
// `return 200`) and the load generator to core 1. Rounds alternate the
// order; the summary gives medians. Usage:
//   node test/bench/sidecar/mesh.ts [--seconds 10] [--rounds 3] [--rate 1000]
// (acp-loadgen with -proxy: `bash test/bench/sidecar/install.sh`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SidecarConfig } from '@acp/crds';
import { build } from '../../../scripts/build.ts';
import { TestPki, type Issued } from '../../../sidecar/src/testing/pki.ts';
import { runLoadgen, type LoadgenResult } from '../loadgen.ts';
import { freePort } from '../../harness/ports.ts';
import { PORTS, SHIPPED_NODE_FLAGS, sidecarArgs, sidecarConfig, upstreamNginx } from './configs.ts';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    // shared: both sidecars on core 0, app and load generator on core 1 (the recorded runs);
    // split: a pod pair, the caller sidecar with the load generator (the calling app) on core 0,
    // the callee sidecar with its app on core 1.
    cores: { type: 'string', default: 'shared' },
  },
});
const SECONDS = Number(flags.seconds);
const ROUNDS = Number(flags.rounds);
const RATE = Number(flags.rate);
const SPLIT = flags.cores === 'split';
if (!SPLIT && flags.cores !== 'shared') throw new Error('--cores is shared or split');
const CORE = SPLIT
  ? { caller: '0', callee: '1', app: '1', loadgen: '0' }
  : { caller: '0', callee: '0', app: '1', loadgen: '1' };
/** BENCH_MESH_NODE_FLAGS: extra node flags for both sidecars (e.g. --trace-gc; output in DIR/<name>.log). */
const EXTRA_FLAGS = (process.env['BENCH_MESH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
const CALLER_ID = 'spiffe://cluster.local/ns/bench/sa/caller';
const CALLEE_ID = 'spiffe://cluster.local/ns/bench/sa/callee';

const root = resolve(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'acp-bench-mesh-'));
const say = (s: string): void => void process.stdout.write(`${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGTERM');
});

build(join(dir, 'dist'));
symlinkSync(join(root, 'node_modules'), join(dir, 'dist/node_modules'));
const MAIN = join(dir, 'dist/sidecar/src/main.js');

function start(cmd: string[], log: string): ChildProcess {
  const quoted = cmd.map((c) => `'${c}'`).join(' ');
  const p = spawn('sh', ['-c', `exec ${quoted} >>'${join(dir, log)}' 2>&1`], { stdio: 'ignore' });
  running.add(p);
  return p;
}

/** BENCH_MESH_PROFILE=1: CPU profiles of both sidecars under DIR/<name>-prof (written at exit). */
const profile = (name: string): string[] =>
  process.env['BENCH_MESH_PROFILE'] === '1'
    ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, `${name}-prof`)}`]
    : [];

/** A sidecar with this identity and config, pinned to its core, the way it is injected. */
function sidecar(name: 'caller' | 'callee', id: Issued, ca: Issued, config: SidecarConfig): ChildProcess {
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
    CORE[name],
    process.execPath,
    ...SHIPPED_NODE_FLAGS,
    ...EXTRA_FLAGS,
    ...profile(name),
    MAIN,
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

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] ?? 0)
    : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

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
const MESH = ['-url', 'http://callee:8080/', '-proxy', `http://127.0.0.1:${CALLER_PORTS.outbound}`];
const load = (target: string[], seconds = SECONDS): Promise<LoadgenResult> =>
  runLoadgen([...target, '-rate', String(RATE), '-c', '16', '-d', `${seconds}s`], CORE.loadgen).catch((e: unknown) => {
    const msg = String((e as { stderr?: string }).stderr ?? e);
    if (msg.includes('-proxy'))
      throw new Error('acp-loadgen lacks -proxy: run `bash test/bench/sidecar/install.sh`');
    throw e;
  });

say(
  `# mesh benchmark: ${ROUNDS} rounds x ${SECONDS} s at ${RATE} req/s (open loop, 16 keep-alive connections)`,
);
say(
  `# node ${process.version}, sidecar flags ${[...SHIPPED_NODE_FLAGS, ...EXTRA_FLAGS].join(' ')}; ` +
    (SPLIT
      ? 'caller sidecar and load generator on core 0, callee sidecar and app on core 1'
      : 'sidecars on core 0, app and load generator on core 1'),
);
say(`# logs and audit records in ${dir}`);
await load(MESH, 2); // warm-up: connections, JIT
await load(DIRECT, 2);

interface Round {
  direct: LoadgenResult;
  mesh: LoadgenResult;
  callerUs: number;
  calleeUs: number;
}
const rounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const directFirst = i % 2 === 0;
  let direct: LoadgenResult | undefined;
  if (directFirst) direct = await load(DIRECT);
  const m0 = [await scrape(CALLER_PORTS.admin), await scrape(port.calleeAdmin)];
  const c0 = [cpuSeconds(pidOf(callerProc)), cpuSeconds(pidOf(calleeProc))];
  const mesh = await load(MESH);
  const c1 = [cpuSeconds(pidOf(callerProc)), cpuSeconds(pidOf(calleeProc))];
  const m1 = [await scrape(CALLER_PORTS.admin), await scrape(port.calleeAdmin)];
  if (!directFirst) direct = await load(DIRECT);
  if (!direct) throw new Error('unreachable');
  const n = Math.max(1, mesh.total);
  const r: Round = {
    direct,
    mesh,
    callerUs: (((c1[0] ?? 0) - (c0[0] ?? 0)) * 1e6) / n,
    calleeUs: (((c1[1] ?? 0) - (c0[1] ?? 0)) * 1e6) / n,
  };
  rounds.push(r);
  say(
    `round ${i + 1}: direct p50 ${direct.p50ms.toFixed(2)} p99 ${direct.p99ms.toFixed(2)} ms; mesh p50 ${mesh.p50ms.toFixed(2)} p99 ${mesh.p99ms.toFixed(2)} ms ` +
      `(${mesh.total} requests, ${mesh.errors} errors, statuses ${JSON.stringify(mesh.statuses)}); CPU/request caller ${r.callerUs.toFixed(0)} us, callee ${r.calleeUs.toFixed(0)} us`,
  );
  say(`  caller: ${phaseFacts(m1[0]!, m0[0]!)}`);
  say(`  callee: ${phaseFacts(m1[1]!, m0[1]!)}`);
}
say('\n## medians');
say(
  `direct (plain HTTP to the app): p50 ${median(rounds.map((r) => r.direct.p50ms)).toFixed(2)} ms, p99 ${median(rounds.map((r) => r.direct.p99ms)).toFixed(2)} ms`,
);
say(
  `mesh (caller sidecar -> mTLS -> callee sidecar -> app): p50 ${median(rounds.map((r) => r.mesh.p50ms)).toFixed(2)} ms, p99 ${median(rounds.map((r) => r.mesh.p99ms)).toFixed(2)} ms`,
);
say(
  `added by the two sidecars: p50 +${median(rounds.map((r) => r.mesh.p50ms - r.direct.p50ms)).toFixed(2)} ms, p99 +${median(rounds.map((r) => r.mesh.p99ms - r.direct.p99ms)).toFixed(2)} ms (target: p99 <= +1.5 ms)`,
);
say(
  `CPU per request: caller sidecar ${median(rounds.map((r) => r.callerUs)).toFixed(0)} us, callee sidecar ${median(rounds.map((r) => r.calleeUs)).toFixed(0)} us`,
);
process.exit(0);
