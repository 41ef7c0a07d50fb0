// The sidecar under hostile load, as injected (not part of npm test): the
// injected command (DEFAULT_INJECTION_CONFIG: node flags, the sources) in
// a memory cgroup with the injected memory limit (memory.ts; 128Mi), the
// default limits of the CRD (maxConnections 512, 64 pending handshakes per
// address, 16Ki headers, 10 s headers timeout), loopback only. An attacker
// process (this file with --attack, file-descriptor limit raised to the
// hard limit) runs, one after the other and each bounded in time:
//   idle       10,000 TLS connections opened and held idle
//   silent     10,000 TCP connections that never start TLS
//   slowloris  2,000 connections trickling a request head, 1 byte/s
//   tokens     requests with 64 KiB and 1 MiB bearer tokens, 16 at a time
//   handshakes a flood of new TLS handshakes (256 at a time), each closed at once
// from 127.0.0.2-127.0.0.41, while a legitimate client on 127.0.0.1 (two
// keep-alive mTLS connections opened before the attack, ~50 req/s) keeps
// calling. Reported per phase: the attacker's counts, connections refused
// at accept (metrics), the sidecar's peak anonymous RSS and VmHWM, OOM
// kills in the cgroup, the legitimate client's answers, errors, p50/p99.
// Stops by itself (HOSTILE_PHASE_SECONDS per phase, default 20).
// Run: node test/bench/sidecar/hostile.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { build } from '../../../scripts/build.ts';
import { DEFAULT_INJECTION_CONFIG } from '../../../webhooks/src/inject/config.ts';
import { freePort } from '../../harness/ports.ts';
import { createMemoryCgroup, limitMbOf, sampleMemory } from '../memory.ts';
import { CLIENT_ID, sidecarArgs, sidecarConfig } from './configs.ts';
import { benchPki } from './material.ts';
import { sleep } from './procs.ts';

const PHASES = ['idle', 'silent', 'slowloris', 'tokens', 'handshakes'] as const;
type Phase = (typeof PHASES)[number];
const PHASE_SECONDS = Number(process.env['HOSTILE_PHASE_SECONDS'] ?? 20);
const ATTACK_ADDRESSES = Array.from({ length: 40 }, (_, i) => `127.0.0.${i + 2}`);

interface Target {
  port: number;
  ca: string;
  cert: string;
  key: string;
}

// ---------------------------------------------------------------- attacker
function tcp(t: Target, i: number): Socket {
  const s = tcpConnect({ host: '127.0.0.1', port: t.port, localAddress: ATTACK_ADDRESSES[i % 40] });
  s.on('error', () => undefined);
  return s;
}

function tls(t: Target, i: number): TLSSocket {
  const s = tlsConnect({ socket: tcp(t, i), servername: 'payments', ca: t.ca, cert: t.cert, key: t.key });
  s.on('error', () => undefined);
  return s;
}

/** Keeps `concurrency` attempts of `one` running until `untilMs`; `one` resolves when its attempt is over. */
async function pool(concurrency: number, untilMs: number, one: (i: number) => Promise<void>): Promise<void> {
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < untilMs) await one(n++);
    }),
  );
}

async function attack(phase: Phase, t: Target): Promise<Record<string, number>> {
  const until = Date.now() + PHASE_SECONDS * 1000;
  const counts = { attempts: 0, established: 0, closedEarly: 0, answered: 0 };
  const held: Socket[] = [];
  const holdUntilEnd = (s: Socket): Promise<void> =>
    new Promise((r) => {
      s.once('close', () => r());
      setTimeout(r, Math.max(0, until - Date.now()));
    });
  if (phase === 'idle' || phase === 'silent') {
    // 10,000 connections, 200 opening at a time, each held until the phase ends (or the sidecar closes it).
    let next = 0;
    await pool(200, until, async () => {
      if (next >= 10_000) return sleep(200);
      const i = next++;
      counts.attempts++;
      const s = phase === 'silent' ? tcp(t, i) : tls(t, i);
      held.push(s);
      await new Promise<void>((r) => {
        s.once(phase === 'silent' ? 'connect' : 'secureConnect', () => {
          counts.established++;
          r();
        });
        s.once('close', () => {
          counts.closedEarly++;
          r();
        });
      });
    });
  } else if (phase === 'slowloris') {
    await pool(2000, until, async (i) => {
      counts.attempts++;
      const s = tls(t, i);
      held.push(s);
      s.once('secureConnect', () => counts.established++);
      s.on('data', () => counts.answered++);
      const head = `GET /slow-${i} HTTP/1.1\r\nHost: payments\r\nX-Slow: ${'a'.repeat(200)}`;
      let k = 0;
      const timer = setInterval(() => {
        if (s.writable && !s.connecting) s.write(head[k++ % head.length] ?? 'a');
      }, 1000);
      await holdUntilEnd(s);
      clearInterval(timer);
      s.destroy();
    });
  } else if (phase === 'tokens') {
    const tokens = [Buffer.alloc(64 * 1024, 97).toString(), Buffer.alloc(1024 * 1024, 98).toString()];
    await pool(16, until, async (i) => {
      counts.attempts++;
      const s = tls(t, i);
      await new Promise<void>((r) => {
        s.once('secureConnect', () => {
          counts.established++;
          s.write(`GET /token HTTP/1.1\r\nHost: payments\r\nAuthorization: Bearer ${tokens[i % 2]}\r\n\r\n`);
        });
        s.once('data', () => counts.answered++);
        s.once('close', () => r());
        setTimeout(() => s.destroy(), 15_000).unref();
      });
    });
  } else {
    await pool(256, until, async (i) => {
      counts.attempts++;
      const s = tls(t, i);
      await new Promise<void>((r) => {
        s.once('secureConnect', () => {
          counts.established++;
          s.destroy();
        });
        s.once('close', () => r());
      });
    });
  }
  for (const s of held) s.destroy();
  return counts;
}

if (process.argv[2] === '--attack') {
  const [phase, file] = [process.argv[3] as Phase, process.argv[4] ?? ''];
  const t = JSON.parse(readFileSync(file, 'utf8')) as Target;
  const counts = await attack(phase, t);
  process.stdout.write(`${JSON.stringify(counts)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------- the run
const root = resolve(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'acp-hostile-'));
// The injected command runs the built JavaScript (sidecar/src/main.js), as in the image.
build(join(dir, 'dist'));
symlinkSync(join(root, 'node_modules'), join(dir, 'dist/node_modules'));
const { ca, client } = benchPki(dir, 'payments');

const app = createServer((_req, res) => res.end('ok\n'));
await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
const ports = { inbound: await freePort(), admin: await freePort(), outbound: await freePort() };
const config = sidecarConfig(null, CLIENT_ID);
config.listeners = { inboundPort: ports.inbound, adminPort: ports.admin, outboundPort: ports.outbound };
config.upstream.port = (app.address() as AddressInfo).port;
writeFileSync(join(dir, 'sidecar.json'), JSON.stringify(config));
const target: Target = { port: ports.inbound, ca: ca.cert, cert: client.cert, key: client.key };
writeFileSync(join(dir, 'target.json'), JSON.stringify(target));

const limit = DEFAULT_INJECTION_CONFIG.resources.limits?.['memory'] ?? '128Mi';
const cgroup = createMemoryCgroup(`acp-hostile-${process.pid}`, limitMbOf(limit));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  cgroup?.remove();
});
/** `argv` with the file-descriptor limit raised to the hard limit (10,000 connections need more than 1,024). */
const withFds = (argv: string[]): string[] => [
  'sh',
  '-c',
  'ulimit -n "$(ulimit -Hn)" && exec "$@"',
  'sh',
  ...argv,
];

const [node, ...injected] = DEFAULT_INJECTION_CONFIG.command;
const sidecarArgv = [
  node === 'node' ? process.execPath : (node ?? process.execPath),
  ...injected.map((a) => (a.endsWith('.js') ? join(dir, 'dist', a) : a)),
  ...sidecarArgs(join(dir, 'sidecar.json'), join(dir, 'identity')),
];
const wrapped = withFds(cgroup ? cgroup.wrap(sidecarArgv) : sidecarArgv);
const sidecar = spawn(wrapped[0] ?? 'sh', wrapped.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
children.add(sidecar);
let exitedHow: string | null = null;
sidecar.on('exit', (code, signal) => (exitedHow = `${code ?? ''}${signal ?? ''}`));
/** How the sidecar exited, or null while it runs. */
const exited = (): string | null => exitedHow;

/** The sidecar's metrics, or '' once it is gone (the report then says how it exited). */
const metricsText = (): Promise<string> =>
  fetch(`http://127.0.0.1:${ports.admin}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
const metric = (text: string, name: string, label = ''): number =>
  [...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))]
    .filter((m) => (m[1] ?? '').includes(label))
    .reduce((sum, m) => sum + Number(m[2]), 0);
for (let i = 0; ; i++) {
  if (i > 200 || exited() !== null) throw new Error(`the sidecar did not start (${exited()})`);
  const ok = await fetch(`http://127.0.0.1:${ports.admin}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  await sleep(100);
}

// The legitimate client: two keep-alive mTLS connections, one request at a time each, ~50 req/s in all.
interface Legit {
  latencies: number[];
  errors: number;
  reconnects: number;
}
const legit: Legit = { latencies: [], errors: 0, reconnects: 0 };
let stopLegit = false;
async function legitLoop(): Promise<void> {
  let sock: TLSSocket | null = null;
  while (!stopLegit) {
    if (!sock || sock.destroyed) {
      if (sock) legit.reconnects++;
      sock = await new Promise<TLSSocket | null>((r) => {
        const s = tlsConnect({
          host: '127.0.0.1',
          port: ports.inbound,
          servername: 'payments',
          ca: ca.cert,
          cert: client.cert,
          key: client.key,
        });
        s.once('secureConnect', () => r(s));
        s.once('error', () => r(null));
        setTimeout(() => r(null), 10_000).unref();
      });
      if (!sock) {
        legit.errors++;
        await sleep(200);
        continue;
      }
    }
    const s: TLSSocket = sock;
    const start = performance.now();
    const ok = await new Promise<boolean>((r) => {
      let got = '';
      const onData = (d: Buffer): void => {
        got += d.toString('latin1');
        if (got.includes('ok\n')) done(got.startsWith('HTTP/1.1 200'));
      };
      const onClose = (): void => done(false);
      const timer = setTimeout(() => done(false), 10_000);
      const done = (v: boolean): void => {
        clearTimeout(timer);
        s.off('data', onData);
        s.off('close', onClose);
        r(v);
      };
      s.on('data', onData);
      s.once('close', onClose);
      s.write('GET /legit HTTP/1.1\r\nHost: payments\r\n\r\n');
    });
    if (ok) legit.latencies.push(performance.now() - start);
    else {
      legit.errors++;
      s.destroy();
    }
    await sleep(40);
  }
  sock?.destroy();
}
const legitDone = Promise.all([legitLoop(), legitLoop()]);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

const rows: string[] = [];
const say = (s: string): boolean => process.stdout.write(`${s}\n`);
say(
  `sidecar: ${sidecarArgv.slice(0, 3).join(' ')} ... in ${cgroup ? `a memory cgroup, limit ${limit}` : 'NO cgroup (unconstrained)'}; phases of ${PHASE_SECONDS} s`,
);
await sleep(2000);
const baseline = sampleMemory(sidecar.pid ?? 0, 50);
await sleep(2000);
const base = baseline.stop();
say(`baseline (legit client only): anonymous RSS ${base.anonMb.toFixed(1)} MB`);
let peakAnon = base.anonMb;
for (const phase of PHASES) {
  const before = await metricsText();
  const legitBefore = { n: legit.latencies.length, errors: legit.errors };
  const mem = sampleMemory(sidecar.pid ?? 0, 50);
  const argv = withFds([
    process.execPath,
    join(import.meta.dirname, 'hostile.ts'),
    '--attack',
    phase,
    join(dir, 'target.json'),
  ]);
  const attacker = spawn(argv[0] ?? 'sh', argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(attacker);
  let out = '';
  attacker.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => attacker.once('exit', r));
  children.delete(attacker);
  await sleep(1000);
  const m = mem.stop();
  peakAnon = Math.max(peakAnon, m.anonMb);
  const after = await metricsText();
  const lat = legit.latencies.slice(legitBefore.n);
  const refused = (label: string): number =>
    metric(after, 'acp_sidecar_connections_refused_total', label) -
    metric(before, 'acp_sidecar_connections_refused_total', label);
  const row =
    `${phase.padEnd(10)} attacker ${out.trim() || '(no report)'}; refused at accept: limit ${refused('CONNECTION_LIMIT')}, ` +
    `per address ${refused('HANDSHAKE_LIMIT')}; peak anon RSS ${m.anonMb.toFixed(1)} MB (VmHWM ${m.hwmMb.toFixed(1)}); ` +
    `OOM kills ${cgroup?.oomKills() ?? 'n/a'}; legit ${lat.length} answers, ${legit.errors - legitBefore.errors} errors, ` +
    `p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms`;
  rows.push(row);
  say(row);
  if (exited() !== null) break;
}
stopLegit = true;
await legitDone;
const all = legit.latencies;
say(
  `overall: sidecar ${exited() === null ? 'still running' : `EXITED (${exited()})`}, peak anonymous RSS ${peakAnon.toFixed(1)} MB of ${limit} ` +
    `(margin ${(limitMbOf(limit) - peakAnon).toFixed(1)} MB), OOM kills ${cgroup?.oomKills() ?? 'n/a'}; ` +
    `legit client ${all.length} answers, ${legit.errors} errors, ${legit.reconnects} reconnects, ` +
    `p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms, max ${Math.max(...all).toFixed(1)} ms`,
);
sidecar.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 2000).unref());
app.close();
process.exit(0);
