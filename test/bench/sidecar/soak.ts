// The sidecar under steady load for a long time (not part of npm test):
// does its CPU per request or its memory drift? Runs the built sidecar as
// injected (the injection config's node flags, node dist/sidecar/src/main.js,
// in a memory cgroup with the injected 128Mi limit, memory.ts) with JWT on
// and Strict mTLS, pinned to core 0; an nginx upstream (`return 200`) and
// the load on core 1, loopback only. Load: acp-loadgen, open loop at
// --rate req/s over 16 keep-alive mTLS connections with a bearer token, one
// run per window back to back (so 16 new connections every window), plus
// this process opening a new mTLS connection for one request every 200 ms
// (full handshakes throughout). Each window (--window seconds) writes one
// row: CPU us per request (the sidecar's utime+stime delta over all its
// threads, /proc/<pid>/stat, divided by the requests answered in the
// window), RSS and anonymous RSS at the window's end, peak anonymous RSS
// in the window (sampled every second), V8 heap used (/metrics), p50/p99/
// p99.9 of the window, errors (no answer or not 200), and how much of core 0
// anything else took (other processes, kernel threads; /proc/stat minus the
// sidecar) and the hypervisor stole: a co-runner on the core raises the
// sidecar's CPU per request (test/bench/sidecar/README.md). At the end: the first,
// middle and last windows and a least-squares slope of each series over
// time (the first window, JIT warm-up, left out of the fit). Stops by itself
// after --minutes (default 30). Writes soak.csv and soak.json into --out
// (default a new directory under /tmp). The sidecar's stdout (one audit
// line per request) goes to `wc -l` outside the cgroup, as a container's
// stdout goes to its runtime, so the audit lines are counted, not stored.
// Run: node test/bench/sidecar/soak.ts [--minutes 30] [--rate 1500] [--window 60] [--out DIR]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { parseArgs } from 'node:util';
import { build } from '../../../scripts/build.ts';
import { DEFAULT_INJECTION_CONFIG } from '../../../webhooks/src/inject/config.ts';
import { createMemoryCgroup, limitMbOf, sampleMemory } from '../memory.ts';
import { runLoadgen } from '../loadgen.ts';
import { CLIENT_ID, PORTS, sidecarArgs, sidecarConfig, upstreamNginx } from './configs.ts';
import { benchPki, benchToken } from './material.ts';

const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '1500' },
    window: { type: 'string', default: '60' },
    out: { type: 'string' },
  },
});
const MINUTES = Number(opts.minutes);
const RATE = Number(opts.rate);
const WINDOW_S = Number(opts.window);
const root = resolve(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'acp-soak-'));
const out = resolve(opts.out ?? dir);
mkdirSync(out, { recursive: true });
const say = (s: string): boolean => process.stdout.write(`${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- material: the production build, PKI, an ES256 token, the bench policy --
build(join(dir, 'dist'));
symlinkSync(join(root, 'node_modules'), join(dir, 'dist/node_modules'));
const { ca, client, identityDir } = benchPki(dir, 'localhost');
const { jwk, token } = await benchToken('soak-1', 'soak-client', 60 * (MINUTES + 60));
writeFileSync(join(dir, 'sidecar.json'), JSON.stringify(sidecarConfig({ keys: [jwk] }, CLIENT_ID)));
writeFileSync(join(dir, 'upstream.conf'), upstreamNginx(dir));
mkdirSync(join(dir, 'up-tmp'));

// --- processes -------------------------------------------------------------
const children = new Set<ChildProcess>();
const limit = DEFAULT_INJECTION_CONFIG.resources.limits?.['memory'] ?? '128Mi';
const cgroup = createMemoryCgroup(`acp-soak-${process.pid}`, limitMbOf(limit));
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  cgroup?.remove();
});
const upstream = spawn('taskset', ['-c', '1', 'nginx', '-c', join(dir, 'upstream.conf')], {
  stdio: 'ignore',
});
children.add(upstream);
// The injected command with its script resolved into the build: node <flags> dist/sidecar/src/main.js.
const [, ...injected] = DEFAULT_INJECTION_CONFIG.command;
const sidecarArgv = [
  'taskset',
  '-c',
  '0',
  process.execPath,
  ...injected.map((a) => (a.endsWith('.js') ? join(dir, 'dist', a) : a)),
  ...sidecarArgs(join(dir, 'sidecar.json'), identityDir),
];
const auditCount = join(out, 'audit-lines.txt');
const writer = spawn('taskset', ['-c', '1', 'sh', '-c', `exec wc -l >'${auditCount}'`], {
  stdio: ['pipe', 'ignore', 'ignore'],
});
const wrapped = cgroup ? cgroup.wrap(sidecarArgv) : sidecarArgv;
const sidecar = spawn(wrapped[0]!, wrapped.slice(1), { stdio: ['ignore', writer.stdin, 'inherit'] });
writer.stdin.destroy();
children.add(sidecar);
const pid = sidecar.pid ?? 0;

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/metrics`).then(
        () => true,
        () => false,
      )
    )
      return;
    await sleep(100);
  }
  throw new Error(`the sidecar's admin port ${port} never came up`);
}

/** CPU time (user + system, all threads) the sidecar has used, in microseconds. */
function cpuMicros(): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 1e4; // clock ticks of 10 ms
}
function statusMb(field: string): number {
  const kb = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}
/** Core 0's busy and stolen clock ticks so far (/proc/stat: user, nice, system, irq, softirq; steal). */
function core0Ticks(): { busy: number; steal: number } {
  const f = /^cpu0 (.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]!.split(' ').map(Number);
  return { busy: f[0]! + f[1]! + f[2]! + f[5]! + f[6]!, steal: f[7]! };
}
async function heapUsedMb(): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${PORTS.admin}/metrics`).then((r) => r.text());
  return Number(/^acp_sidecar_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? NaN) / 1024 / 1024;
}

// New connections: one mTLS connection, one request, closed, every 200 ms.
const fresh = { ok: 0, failed: 0 };
let running = true;
const freshLoop = (async () => {
  while (running) {
    await new Promise<void>((done) => {
      const s = tlsConnect({
        host: '127.0.0.1',
        port: PORTS.sidecar,
        servername: 'localhost',
        ca: ca.cert,
        cert: client.cert,
        key: client.key,
      });
      let answer = '';
      const fail = (): void => {
        fresh.failed++;
        s.destroy();
        done();
      };
      const timer = setTimeout(fail, 5000);
      s.on('error', () => undefined);
      s.once('secureConnect', () =>
        s.write(
          `GET /fresh HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
        ),
      );
      s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      s.once('close', () => {
        clearTimeout(timer);
        if (answer.startsWith('HTTP/1.1 200 ')) fresh.ok++;
        else fresh.failed++;
        done();
      });
    });
    await sleep(200);
  }
})();

const CSV_HEADER =
  'window,end_s,requests,cpu_us_per_request,rss_mb,anon_mb,peak_anon_mb,heap_used_mb,p50_ms,p99_ms,p999_ms,errors,others_on_core0_pct,steal_pct';

interface Row {
  window: number;
  endS: number;
  requests: number;
  cpuUsPerRequest: number;
  rssMb: number;
  anonMb: number;
  peakAnonMb: number;
  heapUsedMb: number;
  p50ms: number;
  p99ms: number;
  p999ms: number;
  errors: number;
  /** Core 0 busy with anything but the sidecar (other processes, kernel threads), % of the window. */
  othersOnCore0Pct: number;
  /** Core 0 stolen by the hypervisor, % of the window. */
  stealPct: number;
}

await waitPort(PORTS.admin);
say(
  `# soak: ${MINUTES} min, ${RATE} req/s open loop (16 keep-alive mTLS connections per ${WINDOW_S} s window, JWT on) + 1 new connection every 200 ms; sidecar ${sidecarArgv.slice(3, 6).join(' ')} in ${cgroup ? `a memory cgroup, limit ${limit}` : 'NO memory cgroup (unconstrained)'}; out ${out}`,
);
say(CSV_HEADER);
const rows: Row[] = [];
const started = Date.now();
const windows = Math.max(1, Math.round((MINUTES * 60) / WINDOW_S));
for (let w = 1; w <= windows; w++) {
  const mem = sampleMemory(pid, 1000);
  const cpu0 = cpuMicros();
  const core0 = core0Ticks();
  const t0 = Date.now();
  const fresh0 = { ...fresh };
  const r = await runLoadgen(
    [
      '-url',
      `https://localhost:${PORTS.sidecar}/`,
      '-rate',
      String(RATE),
      '-c',
      '16',
      '-d',
      `${WINDOW_S}s`,
      '-cacert',
      ca.certPath,
      '-cert',
      client.certPath,
      '-key',
      client.keyPath,
      '-H',
      `Authorization: Bearer ${token}`,
    ],
    '1',
  );
  const cpu1 = cpuMicros();
  const core1 = core0Ticks();
  const wallTicks = (Date.now() - t0) / 10;
  const peak = mem.stop();
  const freshOk = fresh.ok - fresh0.ok;
  const ok = (r.statuses['200'] ?? 0) + freshOk;
  const row: Row = {
    window: w,
    endS: Math.round((Date.now() - started) / 1000),
    requests: ok,
    cpuUsPerRequest: (cpu1 - cpu0) / Math.max(1, ok),
    rssMb: statusMb('VmRSS'),
    anonMb: statusMb('RssAnon'),
    peakAnonMb: peak.anonMb,
    heapUsedMb: await heapUsedMb(),
    p50ms: r.p50ms,
    p99ms: r.p99ms,
    p999ms: r.p999ms,
    errors: r.total - (r.statuses['200'] ?? 0) + (fresh.failed - fresh0.failed),
    othersOnCore0Pct: Math.max(0, ((core1.busy - core0.busy - (cpu1 - cpu0) / 1e4) / wallTicks) * 100),
    stealPct: ((core1.steal - core0.steal) / wallTicks) * 100,
  };
  rows.push(row);
  say(
    [
      row.window,
      row.endS,
      row.requests,
      row.cpuUsPerRequest.toFixed(1),
      row.rssMb.toFixed(1),
      row.anonMb.toFixed(1),
      row.peakAnonMb.toFixed(1),
      row.heapUsedMb.toFixed(1),
      row.p50ms.toFixed(2),
      row.p99ms.toFixed(2),
      row.p999ms.toFixed(2),
      row.errors,
      row.othersOnCore0Pct.toFixed(1),
      row.stealPct.toFixed(1),
    ].join(','),
  );
  writeFileSync(
    join(out, 'soak.csv'),
    `${CSV_HEADER}\n` + rows.map((x) => Object.values(x).join(',')).join('\n') + '\n',
  );
}
running = false;
await freshLoop;

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
  const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return den ? num / den : 0;
}
const fit = rows.length > 2 ? rows.slice(1) : rows;
const hours = fit.map((x) => x.endS / 3600);
const series = ['cpuUsPerRequest', 'rssMb', 'anonMb', 'heapUsedMb', 'p99ms'] as const;
const trend = Object.fromEntries(
  series.map((k) => {
    const ys = fit.map((x) => x[k]);
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    const perHour = slope(hours, ys);
    const overRun = perHour * (hours.at(-1)! - hours[0]!);
    return [k, { mean, perHour, overRun, overRunPct: (overRun / mean) * 100 }];
  }),
);
const pick = [rows[0]!, rows[Math.floor(rows.length / 2)]!, rows.at(-1)!];
const cpuSeries = fit.map((x) => x.cpuUsPerRequest).sort((a, b) => a - b);
const summary = {
  minutes: MINUTES,
  rate: RATE,
  windowSeconds: WINDOW_S,
  memoryLimit: cgroup ? limit : null,
  oomKills: cgroup?.oomKills() ?? null,
  sidecarExited: sidecar.exitCode ?? sidecar.signalCode ?? null,
  totalRequests: rows.reduce((a, x) => a + x.requests, 0),
  totalErrors: rows.reduce((a, x) => a + x.errors, 0),
  freshConnections: fresh,
  cpuUsPerRequestMedian: cpuSeries[Math.floor(cpuSeries.length / 2)],
  firstMiddleLast: pick,
  trend,
  rows,
};
writeFileSync(join(out, 'soak.json'), JSON.stringify(summary, null, 2));
sidecar.kill('SIGTERM');
await new Promise((r) => sidecar.once('exit', r));
upstream.kill('SIGTERM');
if (writer.exitCode === null) await new Promise((r) => writer.once('exit', r));
say(
  `\n# ${rows.length} windows, ${summary.totalRequests} requests, ${summary.totalErrors} errors, OOM kills ${summary.oomKills ?? 'n/a'}`,
);
say(`# audit lines: ${readFileSync(auditCount, 'utf8').trim()} (wc -l of the sidecar's stdout)`);
say(
  '# first / middle / last window: ' +
    pick
      .map(
        (x) =>
          `w${x.window}: ${x.cpuUsPerRequest.toFixed(1)} us/req, anon ${x.anonMb.toFixed(1)} MB, heap ${x.heapUsedMb.toFixed(1)} MB, p99 ${x.p99ms.toFixed(2)} ms`,
      )
      .join(' | '),
);
for (const k of series) {
  const t = trend[k]!;
  say(
    `# ${k}: mean ${t.mean.toFixed(2)}, slope ${t.perHour.toFixed(3)}/hour, change over the fitted run ${t.overRun.toFixed(2)} (${t.overRunPct.toFixed(1)}% of the mean)`,
  );
}
say(`# csv/json: ${join(out, 'soak.csv')} ${join(out, 'soak.json')}`);
