// The prober's load on one sidecar and what its traffic feels: a REAL
// sidecar process (test/e2e/sidecar-support.ts) serves a steady mTLS
// request stream (keep-alive, fixed rate) while, in alternating rounds, the
// operator's prober (operator/src/evidence/probe/workload.ts, run from its
// own process by probe-loop.ts) probes it back to back (the worst case: in
// production one probe per verify period), once a second (300 times the
// production rate at a 5m period), or not at all. Per round: the sidecar's
// CPU (/proc/<pid>/stat), request latency p50/p99 and errors; medians over
// rounds and ratios to the quiet rounds. Then the cost of ONE probe
// (sidecar CPU ms, prober CPU ms, wall ms, TLS connections) and the round
// budget for 1,000 workloads at the default bounds. Asserts nothing.
//   node test/bench/evidence/probe-load.ts [--rounds 3] [--seconds 8] [--rps 200]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { configHash } from '@acp/crds';
import { roundBudgetMs } from '../../../operator/src/evidence/probe/bounds.ts';
import { suitesToProbe } from '../../../operator/src/evidence/probe/plan.ts';
import { probeWorkload, type WorkloadTarget } from '../../../operator/src/evidence/probe/workload.ts';
import { CLIENT_ID, makePki, startSidecar } from '../../e2e/sidecar-support.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string' }, seconds: { type: 'string' }, rps: { type: 'string' } },
});
const ROUNDS = Number(values.rounds ?? 3);
const SECONDS = Number(values.seconds ?? 8);
const RPS = Number(values.rps ?? 200);
const PROBE_ID = 'spiffe://cluster.local/ns/acp-system/sa/acp-prober';

type Mode = 'quiet' | 'paced' | 'backToBack';
interface Round {
  cpu: number;
  p50: number;
  p99: number;
  errors: number;
  probes: number;
}

const cpuMs = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(f[11]) || 0) + (Number(f[12]) || 0)) * 10; // utime + stime, 100 ticks/s
};
const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const pct = (xs: readonly number[], p: number): number =>
  sorted(xs)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;
const median = (xs: readonly number[]): number => pct(xs, 50);

const dir = mkdtempSync(join(tmpdir(), 'acp-probe-bench-'));
const pki = makePki(join(dir, 'pki'));
const probeCert = pki.pki.workload('probe', PROBE_ID);
const s = await startSidecar(
  (c) => {
    c.mtls.allowedPeers = [CLIENT_ID];
    c.mtls.probePeers = [PROBE_ID];
  },
  { pki },
);
const pid = s.proc.pid ?? 0;
const target: WorkloadTarget = {
  pod: 'bench',
  namespace: 'shop',
  serviceAccount: 'payments',
  host: '127.0.0.1',
  inboundPort: s.ports.inbound,
  adminPort: s.ports.admin,
  config: s.config,
};
const identity = { certPem: probeCert.cert, keyPem: probeCert.key, caPem: pki.ca.cert };
const specFile = join(dir, 'probe-spec.json');
writeFileSync(specFile, JSON.stringify({ target, identity }));
const agent = new Agent({
  keepAlive: true,
  maxSockets: 8,
  ca: pki.ca.cert,
  cert: pki.client.cert,
  key: pki.client.key,
  servername: 'payments',
});

function get(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const r = request(
      { host: '127.0.0.1', port: s.ports.inbound, path: '/v1/data', agent, headers: { host: 'payments' } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(performance.now() - t0)
            : reject(new Error(String(res.statusCode))),
        );
      },
    );
    r.on('error', reject);
    r.end();
  });
}

async function load(): Promise<{ lat: number[]; errors: number }> {
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < RPS * SECONDS; i++) {
    const wait = t0 + (i * 1000) / RPS - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      get().then(
        (ms) => {
          lat.push(ms);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  return { lat, errors };
}

async function round(mode: Mode): Promise<Round> {
  const child =
    mode === 'quiet'
      ? undefined
      : spawn(
          process.execPath,
          [
            join(import.meta.dirname, 'probe-loop.ts'),
            '--spec',
            specFile,
            '--interval-ms',
            mode === 'paced' ? '1000' : '0',
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
  let printed = '';
  child?.stdout.on('data', (d: Buffer) => (printed += d.toString()));
  const exited = child ? new Promise((r) => child.once('exit', r)) : Promise.resolve();
  if (child) await new Promise((r) => setTimeout(r, 1500)); // past the child's start-up
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  const { lat, errors } = await load();
  const cpu = ((cpuMs(pid) - cpu0) / (performance.now() - t0)) * 100;
  child?.kill('SIGTERM');
  await exited;
  return { cpu, p50: pct(lat, 50), p99: pct(lat, 99), errors, probes: Number(printed.trim()) || 0 };
}

await get(); // warm the keep-alive connections
const runs: Record<Mode, Round[]> = { quiet: [], paced: [], backToBack: [] };
for (let i = 0; i < ROUNDS; i++)
  for (const mode of ['quiet', 'paced', 'backToBack'] as const) {
    const r = await round(mode);
    runs[mode].push(r);
    process.stdout.write(`round ${i + 1} ${mode}: ${JSON.stringify(r)}\n`);
  }

// The cost of one probe, alone (no load).
const N = 20;
const sc0 = cpuMs(pid);
const pc0 = process.cpuUsage();
const w0 = performance.now();
let last;
for (let i = 0; i < N; i++)
  last = await probeWorkload(target, { identity, timeoutMs: 10_000, now: () => new Date(), fetch });
const wallMs = (performance.now() - w0) / N;
const sidecarCpuMs = (cpuMs(pid) - sc0) / N;
const pc = process.cpuUsage(pc0);
const proberCpuMs = (pc.user + pc.system) / 1000 / N;
const tlsConnections = 2 + 4 + suitesToProbe(s.config).length; // main + anonymous, versions, suites (+1 admin HTTP)

const summary = (xs: readonly Round[]) => ({
  sidecarCpuPercent: median(xs.map((x) => x.cpu)),
  p50Ms: median(xs.map((x) => x.p50)),
  p99Ms: median(xs.map((x) => x.p99)),
  errors: xs.reduce((a, x) => a + x.errors, 0),
  probesPerRound: median(xs.map((x) => x.probes)),
});
const quiet = summary(runs.quiet);
const vsQuiet = (x: ReturnType<typeof summary>) => ({
  ...x,
  ratioToQuiet: {
    cpu: x.sidecarCpuPercent / quiet.sidecarCpuPercent,
    p50: x.p50Ms / quiet.p50Ms,
    p99: x.p99Ms / quiet.p99Ms,
  },
});
const out = {
  rps: RPS,
  secondsPerRound: SECONDS,
  rounds: ROUNDS,
  quiet,
  paced1PerSecond: vsQuiet(summary(runs.paced)),
  backToBack: vsQuiet(summary(runs.backToBack)),
  oneProbe: {
    tlsConnections,
    wallMs,
    sidecarCpuMs,
    proberCpuMs,
    measured: last?.failure === undefined && last?.sidecar?.configHash === configHash(s.config),
  },
  amortizedSidecarCpuPercentAt5m: (sidecarCpuMs / 300_000) * 100,
  budget1000: roundBudgetMs(1000, tlsConnections, wallMs / tlsConnections, {
    concurrency: 16,
    connectionsPerSecond: 100,
  }),
  proberCpuSecondsPer1000Round: proberCpuMs,
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
agent.destroy();
await s.stop();
