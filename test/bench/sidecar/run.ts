// The sidecar benchmark (not part of npm test): nginx, haproxy, the
// sidecar with JWT off and with JWT on (one reused ES256 token), side by
// side in one run with the same policy (configs.ts). The proxy under test
// is pinned to core 0; the load generator (oha, openssl s_time) and the
// upstream to core 1. Rounds alternate the order; medians and ratios to
// nginx are printed with the exact commands. Run: npm run bench:sidecar
// (after test/bench/sidecar/install.sh). Env: BENCH_SECONDS, BENCH_ROUNDS,
// BENCH_TARGETS (comma-separated names, default all: nginx, haproxy,
// sidecar-jwt-off, sidecar-jwt-on, sidecar-jwt-on-node-http), BENCH_ALT_FLAGS (adds
// the sidecar with JWT on and other node flags), BENCH_WORKERS=0 and
// BENCH_PROFILE=0 (skip those sections), BENCH_BASELINE_TREE (another
// checkout of this repository, e.g. a git worktree of an older commit: its
// sidecar, built from that tree, runs as sidecar-jwt-on-baseline in the
// same alternating rounds, so before and after share nginx and the machine
// of each round).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { benchPki, benchToken } from './material.ts';
import {
  CLIENT_ID,
  PORTS,
  proxyHaproxy,
  proxyNginx,
  SHIPPED_NODE_FLAGS,
  sidecarConfig,
  upstreamNginx,
} from './configs.ts';
import { createMemoryCgroup, limitMbOf, sampleMemory } from '../memory.ts';
import { ohaCommand, runOha } from '../oha.ts';
import {
  describeSpin,
  latencyProbeArgs,
  loadgenCommand,
  runLoadgen,
  runSpin,
  type SpinResult,
} from '../loadgen.ts';
import { DEFAULT_INJECTION_CONFIG } from '../../../webhooks/src/inject/config.ts';
import { benchWorkspace, median, sleep, stopProcess, treeCpuSeconds, waitPort } from './procs.ts';

const run = promisify(execFile);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
// --- the production build: the sidecar runs as it is shipped (node dist/...) --
const {
  dir,
  main: SIDECAR_MAIN,
  baselineTree: BASELINE_TREE,
  baselineMain: BASELINE_MAIN,
} = benchWorkspace('acp-bench-');
const commands = new Set<string>();
const say = (s: string): boolean => process.stdout.write(`${s}\n`);

// --- material ---------------------------------------------------------------
const { ca, server, client } = benchPki(dir, 'localhost');
writeFileSync(join(dir, 'ca.crt'), ca.cert);
writeFileSync(join(dir, 'server.crt'), server.cert);
writeFileSync(join(dir, 'server.key'), server.key);
writeFileSync(join(dir, 'server.pem'), server.cert + server.key);
const { jwk, token } = await benchToken('bench-1', 'bench-client', 7200);
writeFileSync(join(dir, 'sidecar-nojwt.json'), JSON.stringify(sidecarConfig(null, CLIENT_ID)));
// The baseline's config: the same policy without the limits that tree's schema does not know
// (an older sidecar refuses unknown fields, a newer one requires them); it then runs with its own defaults.
const NEWER_LIMITS = new Set(['maxUrlBytes', 'maxConnections', 'maxPendingHandshakesPerAddress']);
const jwtConfig = sidecarConfig({ keys: [jwk] }, CLIENT_ID);
writeFileSync(join(dir, 'sidecar-jwt.json'), JSON.stringify(jwtConfig));
const baselineTypes = BASELINE_TREE ? join(BASELINE_TREE, 'crds/generated/sidecar-config-types.ts') : '';
const baselineKnows = (k: string): boolean =>
  existsSync(baselineTypes) && readFileSync(baselineTypes, 'utf8').includes(k);
const olderLimits = Object.fromEntries(
  Object.entries(jwtConfig.limits).filter(([k]) => !NEWER_LIMITS.has(k) || baselineKnows(k)),
);
writeFileSync(join(dir, 'sidecar-jwt-baseline.json'), JSON.stringify({ ...jwtConfig, limits: olderLimits }));
for (const [name, text] of [
  ['upstream.conf', upstreamNginx(dir)],
  ['nginx.conf', proxyNginx(dir)],
  ['haproxy.cfg', proxyHaproxy(dir)],
] as const) {
  writeFileSync(join(dir, name), text);
}
mkdirSync(join(dir, 'up-tmp'));
mkdirSync(join(dir, 'nx-tmp'));

// --- processes ----------------------------------------------------------------
interface Target {
  name: string;
  port: number;
  start: (cores: string, extra?: string[]) => ChildProcess;
  auth: boolean;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGTERM');
});

// Every proxy under test runs in a memory cgroup with the sidecar container's limit (memory.ts).
// BENCH_MEMORY_LIMIT=128Mi: another cgroup limit than the injected sidecar's (experiments).
const memoryLimit =
  process.env['BENCH_MEMORY_LIMIT'] ?? DEFAULT_INJECTION_CONFIG.resources.limits?.['memory'] ?? '128Mi';
const cgroup = createMemoryCgroup(`acp-bench-${process.pid}`, limitMbOf(memoryLimit));
process.on('exit', () => cgroup?.remove());

function startProc(cmd: string[], logName: string, limited = false): ChildProcess {
  commands.add(cmd.join(' ') + (limited && cgroup ? `   (in a memory cgroup, limit ${memoryLimit})` : ''));
  const out = join(dir, logName);
  if (!limited || !cgroup) {
    const quoted = cmd.map((c) => `'${c}'`).join(' ');
    const p = spawn('sh', ['-c', `exec ${quoted} >>'${out}' 2>&1`], { stdio: 'ignore' });
    running.add(p);
    return p;
  }
  // Output goes through a pipe to a writer outside the cgroup, as a container's
  // stdout goes to the container runtime: the log's page cache is not charged
  // to the proxy's memory (in the cgroup it would push the limit and evict
  // the proxy's own code pages).
  const writer = spawn('taskset', ['-c', '1', 'sh', '-c', `exec cat >>'${out}'`], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const [command, ...args] = cgroup.wrap(cmd);
  const p = spawn(command!, args, { stdio: ['ignore', writer.stdin, writer.stdin] });
  writer.stdin.destroy();
  running.add(p);
  return p;
}

const node = process.execPath;
const sidecar =
  (config: string, nodeFlags = SHIPPED_NODE_FLAGS, main = SIDECAR_MAIN) =>
  (cores: string, extra: string[] = []): ChildProcess =>
    startProc(
      [
        'taskset',
        '-c',
        cores,
        node,
        ...nodeFlags,
        ...extra.filter((e) => e.startsWith('--cpu-prof')),
        main,
        '--config',
        join(dir, config),
        '--identity-dir',
        join(dir, 'identity'),
        '--host',
        '127.0.0.1',
        ...extra.filter((e) => !e.startsWith('--cpu-prof')),
      ],
      `${config}.log`,
      // N workers are N+1 processes of ~50 MB each: more than one container's limit (measured: OOM kills).
      !extra.includes('--workers'),
    );
const ALL_TARGETS: Target[] = [
  {
    name: 'nginx',
    port: PORTS.nginx,
    auth: false,
    start: (c) => startProc(['taskset', '-c', c, 'nginx', '-c', join(dir, 'nginx.conf')], 'nginx.out', true),
  },
  {
    name: 'haproxy',
    port: PORTS.haproxy,
    auth: false,
    start: (c) =>
      startProc(['taskset', '-c', c, 'haproxy', '-db', '-f', join(dir, 'haproxy.cfg')], 'haproxy.out', true),
  },
  { name: 'sidecar-jwt-off', port: PORTS.sidecar, auth: false, start: sidecar('sidecar-nojwt.json') },
  { name: 'sidecar-jwt-on', port: PORTS.sidecar, auth: true, start: sidecar('sidecar-jwt.json') },
  // node:http for every request (sidecar --no-http-fast-path), JWT on: what the fast path saves.
  {
    name: 'sidecar-jwt-on-node-http',
    port: PORTS.sidecar,
    auth: true,
    start: (c: string, extra: string[] = []) =>
      sidecar('sidecar-jwt.json')(c, ['--no-http-fast-path', ...extra]),
  },
  // BENCH_ALT_FLAGS="--flag ...": the sidecar with JWT on and these node flags instead of the shipped ones.
  ...(process.env['BENCH_ALT_FLAGS']
    ? [
        {
          name: 'sidecar-jwt-on-alt-flags',
          port: PORTS.sidecar,
          auth: true,
          start: sidecar('sidecar-jwt.json', process.env['BENCH_ALT_FLAGS'].split(' ').filter(Boolean)),
        },
      ]
    : []),
  // BENCH_BASELINE_TREE=DIR: that tree's sidecar, JWT on, shipped flags (before/after in the same rounds).
  ...(BASELINE_MAIN
    ? [
        {
          name: 'sidecar-jwt-on-baseline',
          port: PORTS.sidecar,
          auth: true,
          start: sidecar('sidecar-jwt-baseline.json', SHIPPED_NODE_FLAGS, BASELINE_MAIN),
        },
      ]
    : []),
];
const TARGETS = ALL_TARGETS.filter(
  (t) => !process.env['BENCH_TARGETS'] || process.env['BENCH_TARGETS'].split(',').includes(t.name),
);

// --- measurements ---------------------------------------------------------------
async function oha(
  url: string,
  args: string[],
  auth: boolean,
  cores = '1',
): Promise<{ rps: number; p99ms: number; ok: number; total: number }> {
  const tls = url.startsWith('https')
    ? ['--cacert', ca.certPath, '--cert', client.certPath, '--key', client.keyPath]
    : [];
  const ohaArgs = [
    ...(args.includes('-z') ? [] : ['-z', `${SECONDS}s`]),
    ...args,
    ...tls,
    ...(auth ? ['-H', `Authorization: Bearer ${token}`] : []),
    url,
  ];
  commands.add(ohaCommand(ohaArgs, cores).join(' ').replace(token, '<ES256 token>'));
  const r = await runOha(ohaArgs, cores);
  return { rps: r.rps, p99ms: r.p99ms, ok: r.statuses['200'] ?? 0, total: r.total };
}

/**
 * Latency at 2000 req/s, open loop, 16 connections, from acp-loadgen
 * (../loadgen.ts): oha's TLS client stalled on its own (p99.9 40-60 ms
 * against nginx answering 200 itself, 2026-11-29), which made the added
 * p99 a measure of the load generator.
 */
async function probe(
  url: string,
  auth: boolean,
): Promise<{ p50ms: number; p99ms: number; p999ms: number; ok: number; total: number }> {
  const args = latencyProbeArgs(url, SECONDS, {
    ca: ca.certPath,
    cert: client.certPath,
    key: client.keyPath,
  });
  if (auth) args.push('-H', `Authorization: Bearer ${token}`);
  commands.add(loadgenCommand(args, '1').join(' ').replace(token, '<ES256 token>'));
  const r = await runLoadgen(args, '1');
  return { p50ms: r.p50ms, p99ms: r.p99ms, p999ms: r.p999ms, ok: r.statuses['200'] ?? 0, total: r.total };
}

async function handshakes(port: number): Promise<number> {
  const one = async (): Promise<number> => {
    const cmd = [
      'taskset',
      '-c',
      '1',
      'openssl',
      's_time',
      '-connect',
      `127.0.0.1:${port}`,
      '-new',
      '-tls1_3',
      '-time',
      String(Math.max(4, SECONDS - 2)),
      '-cert',
      client.certPath,
      '-key',
      client.keyPath,
      '-CAfile',
      ca.certPath,
    ];
    commands.add(`${cmd.join(' ')}   (x8 in parallel)`);
    const { stdout } = await run(cmd[0]!, cmd.slice(1));
    const m = /(\d+) connections in (\d+) real seconds/.exec(stdout);
    return m ? Number(m[1]) / Number(m[2]) : 0;
  };
  const r = await Promise.all(Array.from({ length: 8 }, one));
  return r.reduce((a, b) => a + b, 0);
}

interface Sample {
  rps: number;
  p50ms: number;
  p99ms: number;
  p999ms: number;
  hs: number;
  hwm: number;
  anon: number;
  errors: number;
  rpsPerCpu: number;
  hsPerCpu: number;
  /** The proxy's CPU time over the keep-alive phase's wall time: below ~0.9 the core was shared or the load generator starved. */
  coreShare: number;
}
const samples = new Map<string, Sample[]>();
const directP99: number[] = [];
const spins: SpinResult[] = [];

say(`# sidecar benchmark: ${ROUNDS} rounds x ${SECONDS}s, dir ${dir}`);
for (const port of Object.values(PORTS)) {
  const taken = await new Promise<boolean>((r) => {
    const sock = connect(port, '127.0.0.1', () => {
      sock.destroy();
      r(true);
    });
    sock.on('error', () => r(false));
  });
  if (taken) throw new Error(`port ${port} is already in use: stop whatever listens there first`);
}
const upstream = startProc(['taskset', '-c', '1', 'nginx', '-c', join(dir, 'upstream.conf')], 'upstream.out');
await sleep(500);
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse();
  directP99.push((await probe(`http://127.0.0.1:${PORTS.upstream}/`, false)).p99ms);
  // The floor no proxy on core 0 can go under: how often the core is taken from a thread alone there.
  commands.add(`${loadgenCommand(['-spin', `${SECONDS}s`], '0').join(' ')}   (nothing else on core 0)`);
  spins.push(await runSpin('0', SECONDS));
  say(`round ${round + 1} core 0 alone (acp-loadgen -spin): ${describeSpin(spins.at(-1)!)}`);
  for (const t of order) {
    const p = t.start('0');
    await waitPort(t.port);
    const url = `https://localhost:${t.port}/`;
    await oha(url, ['-c', '64', '-z', '2s'], t.auth); // warm-up (JIT, pools)
    const pid = p.pid ?? 0;
    const memory = sampleMemory(pid);
    const c0 = await treeCpuSeconds(pid);
    const ka = await oha(url, ['-c', '64'], t.auth);
    const c1 = await treeCpuSeconds(pid);
    const lat = await probe(url, t.auth);
    const c2 = await treeCpuSeconds(pid);
    const hs = await handshakes(t.port);
    const c3 = await treeCpuSeconds(pid);
    const { hwmMb, anonMb } = memory.stop();
    await stopProcess(p);
    const s: Sample = {
      rps: ka.rps,
      p50ms: lat.p50ms,
      p99ms: lat.p99ms,
      p999ms: lat.p999ms,
      hs,
      hwm: hwmMb,
      anon: anonMb,
      errors: ka.total - ka.ok + (lat.total - lat.ok),
      rpsPerCpu: ka.total / Math.max(0.01, c1 - c0),
      coreShare: (c1 - c0) / SECONDS,
      hsPerCpu: (hs * Math.max(4, SECONDS - 2)) / Math.max(0.01, c3 - c2),
    };
    (samples.get(t.name) ?? samples.set(t.name, []).get(t.name)!).push(s);
    say(
      `round ${round + 1} ${t.name}: ${s.rps.toFixed(0)} req/s keep-alive (${s.rpsPerCpu.toFixed(0)} per proxy CPU-s, ${(s.coreShare * 100).toFixed(0)}% of core 0), at 2000 req/s p50 ${s.p50ms.toFixed(2)} p99 ${s.p99ms.toFixed(2)} p99.9 ${s.p999ms.toFixed(2)} ms, ${s.hs.toFixed(0)} TLS1.3 full handshakes/s (${s.hsPerCpu.toFixed(0)} per proxy CPU-s), peak RSS ${s.hwm.toFixed(1)} MB (anonymous ${s.anon.toFixed(1)} MB), non-200 ${s.errors}`,
    );
  }
}

say('\n## medians (proxy pinned to core 0; oha, acp-loadgen, s_time and the upstream on core 1)');
say(
  cgroup
    ? `memory: every proxy in a memory cgroup limited to ${memoryLimit} (the injected sidecar's limit); OOM kills: ${cgroup.oomKills()}`
    : 'memory: no writable memory cgroup here, proxies ran UNCONSTRAINED (Node sizes its heap from the host memory)',
);
const nginx = samples.get('nginx') ?? [];
const base = {
  rps: median(nginx.map((s) => s.rps)),
  hs: median(nginx.map((s) => s.hs)),
  rpc: median(nginx.map((s) => s.rpsPerCpu)),
  hpc: median(nginx.map((s) => s.hsPerCpu)),
};
const direct = median(directP99);
say(
  `direct to the upstream (plain HTTP): p99 ${direct.toFixed(2)} ms at 2000 req/s (acp-loadgen, open loop)`,
);
const spinMid = [...spins].sort((a, b) => a.lostPct - b.lostPct)[Math.floor(spins.length / 2)];
if (spinMid) say(`core 0 with nothing on it, the median round by time lost: ${describeSpin(spinMid)}`);
// A proxy that had less than 90% of its core during the keep-alive phase shared it (other processes on
// the VM) or waited for a starved load generator: its req/s then measures the machine, and even its CPU
// per request rises (a co-runner on the core costs the sidecar's JIT code and heap their caches).
const shared = [...samples.values()].flat().filter((x) => x.coreShare < 0.9).length;
if (shared)
  say(
    `WARNING: in ${shared} of ${[...samples.values()].flat().length} measurements the proxy had < 90% of core 0 (see "% of core 0" per round): compare "per proxy CPU-s", not req/s`,
  );
say(
  '| proxy | keep-alive req/s | x nginx | req per proxy CPU-s | x nginx | p99 @2000 req/s (ms) | added p99 vs direct (ms) | TLS1.3 full handshakes/s | x nginx | handshakes per proxy CPU-s | x nginx | peak RSS (MB) | peak anonymous RSS (MB) | proxy CPU us per request |',
);
say('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const t of TARGETS) {
  const ss = samples.get(t.name) ?? [];
  const rps = median(ss.map((s) => s.rps));
  const p99 = median(ss.map((s) => s.p99ms));
  const hs = median(ss.map((s) => s.hs));
  const rpc = median(ss.map((s) => s.rpsPerCpu));
  const hpc = median(ss.map((s) => s.hsPerCpu));
  say(
    `| ${t.name} | ${rps.toFixed(0)} | ${(rps / base.rps).toFixed(2)} | ${rpc.toFixed(0)} | ${(rpc / base.rpc).toFixed(2)} | ${p99.toFixed(2)} | ${(p99 - direct).toFixed(2)} | ${hs.toFixed(0)} | ${(hs / base.hs).toFixed(2)} | ${hpc.toFixed(0)} | ${(hpc / base.hpc).toFixed(2)} | ${Math.max(...ss.map((s) => s.hwm)).toFixed(1)} | ${Math.max(...ss.map((s) => s.anon)).toFixed(1)} | ${(1e6 / rpc).toFixed(1)} |`,
  );
}

if (process.env['BENCH_WORKERS'] !== '0') {
  say(
    '\n## workers (sidecar JWT on; proxy, oha and upstream all unpinned on both cores; no memory cgroup: the primary and N workers need ~50 MB each, more than one 128Mi container holds for N > 1)',
  );
  const jwtOn = ALL_TARGETS[3]!;
  for (const workers of [1, 2, 1, 2]) {
    const p = jwtOn.start('0,1', ['--workers', String(workers)]);
    await waitPort(jwtOn.port);
    await oha(`https://localhost:${jwtOn.port}/`, ['-c', '64', '-z', '2s'], true, '0,1');
    const r = await oha(`https://localhost:${jwtOn.port}/`, ['-c', '64'], true, '0,1');
    await stopProcess(p);
    say(`workers=${workers}: ${r.rps.toFixed(0)} req/s`);
  }
}

if (process.env['BENCH_PROFILE'] !== '0') {
  const profiled = [ALL_TARGETS[3]!, ...ALL_TARGETS.filter((t) => t.name === 'sidecar-jwt-on-baseline')];
  for (const t of profiled) {
    const profDir = join(dir, t === ALL_TARGETS[3] ? 'profile' : `profile-${t.name}`);
    const p = t.start('0', ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
    await waitPort(PORTS.sidecar);
    await oha(`https://localhost:${PORTS.sidecar}/`, ['-c', '64'], true);
    await stopProcess(p);
    say(
      `\nCPU profile (${t.name}, keep-alive load) written to ${profDir}; summarize: node test/bench/sidecar/profile.ts ${profDir}`,
    );
  }
}
await stopProcess(upstream);
say('\n## commands');
for (const c of commands) say(`    ${c}`);
// wc: the log outgrows the longest string Node can read at once (~512 MB) in a full run.
const auditLog = join(dir, 'sidecar-jwt.json.log');
if (existsSync(auditLog)) {
  const { stdout: lines } = await run('wc', ['-l', auditLog]);
  say(`\naudit/access logs: ${lines.trim().split(' ')[0]} sidecar lines in ${dir}`);
}
