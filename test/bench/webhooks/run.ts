// Benchmark of the admission webhooks (not part of `npm test`; run with
// `npm run bench:webhooks`). Two measurements, each repeated in rounds and
// quoted as medians because the machine is shared and noisy:
// 1. the webhook alone: AdmissionReview latency p50/p99 under 50
//    concurrent keep-alive HTTPS requests (the real express app and TLS in
//    a child process; this process only generates load), closed loop (as
//    fast as it answers: a saturation test) and open loop (a fixed rate);
//    plus the server's CPU time per admission, which noise disturbs least;
// 2. pod creations per second through a real kube-apiserver with the
//    webhook in the path (namespace opted in; `node webhooks/src/main.ts`
//    as a child process) versus without it (a namespace it never matches),
//    alternating rounds in the same run.
// Flags: --requests N (per latency round, default 10000), --pods N (per
// apiserver round, default 200), --rounds N (default 5), --concurrency N
// (apiserver, default 10), --rate N (open-loop requests/s, default 1000),
// --skip-apiserver, --profile DIR (a CPU profile
// of the latency server).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..', '..');
const argv = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const REQUESTS = flag('requests', 10_000);
const PODS = flag('pods', 200);
const ROUNDS = flag('rounds', 5);
const CONCURRENCY = flag('concurrency', 10);
const RATE = flag('rate', 1000);
const out = (s: string): boolean => process.stdout.write(`${s}\n`);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** CPU time (user + system) of a process so far, in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function waitForLine(child: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = re.exec(buf);
      if (m) resolve(m);
    });
    child.on('exit', (code) => reject(new Error(`child exited with ${code}: ${buf}`)));
  });
}

interface LatencyResult {
  p50: number;
  p99: number;
  rps: number;
}

/**
 * Sends REQUESTS AdmissionReviews over 50 keep-alive HTTPS connections.
 * Closed loop (rate 0): 50 always in flight, as fast as the server answers.
 * Open loop (rate R): R requests/s are started on schedule, at most 50 in flight.
 */
async function latencyRound(port: number, ca: string, body: string, rate = 0): Promise<LatencyResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 50, ca });
  const times: number[] = [];
  const one = (t0: bigint): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/inject',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
            times.push(Number(process.hrtime.bigint() - t0) / 1e6);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < REQUESTS) {
      const due = rate > 0 ? started + BigInt(Math.round((next / rate) * 1e9)) : 0n;
      next++;
      const wait = Number(due - process.hrtime.bigint()) / 1e6;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Latency counts from when the request was due, so a late start is not hidden.
      await one(rate > 0 ? due : process.hrtime.bigint());
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), rps: times.length / seconds };
}

async function webhookAlone(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'acp-bench-'));
  const caFile = join(dir, 'ca.crt');
  const profile = argv.includes('--profile')
    ? ['--cpu-prof', `--cpu-prof-dir=${argv[argv.indexOf('--profile') + 1]}`]
    : [];
  const server = spawn(
    process.execPath,
    [...profile, join(import.meta.dirname, 'static-server.ts'), caFile],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const port = Number((await waitForLine(server, /PORT (\d+)/))[1]);
    const ca = readFileSync(caFile, 'utf8');
    const pod = parse(readFileSync(join(root, 'webhooks', 'testdata', 'basic.yaml'), 'utf8')) as unknown;
    const body = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'bench',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: 'shop',
        operation: 'CREATE',
        object: pod,
      },
    });
    await latencyRound(port, ca, body); // warm-up
    const closed: (LatencyResult & { cpuUs: number })[] = [];
    const open: LatencyResult[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const cpu0 = cpuMs(server.pid!);
      const r = await latencyRound(port, ca, body);
      const cpuUs = ((cpuMs(server.pid!) - cpu0) * 1000) / REQUESTS;
      closed.push({ ...r, cpuUs });
      const o = await latencyRound(port, ca, body, RATE);
      open.push(o);
      out(
        `  round ${i + 1}: closed loop p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.rps.toFixed(0)} req/s, ` +
          `server CPU ${cpuUs.toFixed(0)} us/request; open loop at ${RATE}/s p50 ${o.p50.toFixed(2)} ms, p99 ${o.p99.toFixed(2)} ms`,
      );
    }
    const med = (xs: LatencyResult[], k: keyof LatencyResult): string =>
      median(xs.map((x) => x[k])).toFixed(2);
    out(
      `webhook alone, 50 concurrent (closed loop), ${REQUESTS} requests x ${ROUNDS}: median p50 ${med(closed, 'p50')} ms, ` +
        `median p99 ${med(closed, 'p99')} ms, median ${med(closed, 'rps')} req/s, ` +
        `median server CPU ${median(closed.map((r) => r.cpuUs)).toFixed(0)} us/request`,
    );
    out(
      `webhook alone, open loop at ${RATE} req/s (at most 50 in flight): median p50 ${med(open, 'p50')} ms, median p99 ${med(open, 'p99')} ms`,
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}

async function throughputRounds(): Promise<void> {
  process.env['CI'] = '';
  const { useCluster, createNamespace, kubectl } = await import('../../src/index.ts');
  const { webhookFixture, eventually } = await import('../../integration/support/webhook-fixture.ts');
  const cluster = await useCluster();
  const fx = await webhookFixture(cluster);
  const inject = await createNamespace(
    cluster,
    'bench-inject',
    fx.labels({ 'acp.dev/injection': 'enabled' }),
  );
  const plain = await createNamespace(cluster, 'bench-plain', fx.labels());
  const webhook = spawn(
    process.execPath,
    [join(root, 'webhooks', 'src', 'main.ts'), ...fx.args, '--log-level=warn'],
    {
      cwd: root,
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  try {
    const policy = {
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name: 'bench', namespace: inject },
      spec: { selector: { matchLabels: { app: 'bench' } }, upstream: { port: 8080 } },
    };
    await eventually(
      'the webhook admits policies',
      async () => (await kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(policy))).code === 0,
    );
    let n = 0;
    const podBody = (namespace: string) => ({
      metadata: { name: `bench-${n++}`, namespace, labels: { app: 'bench' } },
      spec: { containers: [{ name: 'app', image: 'bench:1' }] },
    });
    await eventually('pods are injected', async () => {
      const p = await cluster.core.createNamespacedPod({ namespace: inject, body: podBody(inject) });
      return (p.spec?.initContainers ?? []).some((c) => c.name === 'acp-sidecar');
    });
    const round = async (namespace: string): Promise<number> => {
      let left = PODS;
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (left-- > 0) await cluster.core.createNamespacedPod({ namespace, body: podBody(namespace) });
        }),
      );
      return PODS / (Number(process.hrtime.bigint() - started) / 1e9);
    };
    await round(plain);
    await round(inject); // warm-up both paths
    const withHook: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const order = i % 2 === 0 ? [inject, plain] : [plain, inject];
      for (const ns of order) {
        const rate = await round(ns);
        (ns === inject ? withHook : without).push(rate);
        out(
          `  round ${i + 1} ${ns === inject ? 'with webhook   ' : 'without webhook'}: ${rate.toFixed(1)} pods/s`,
        );
      }
    }
    const a = median(without);
    const b = median(withHook);
    // Each round pairs one run of each side, back to back: the ratio within a pair is what drifts least.
    const paired = median(withHook.map((w, k) => without[k]! / w));
    out(
      `apiserver, ${CONCURRENCY} concurrent creates, ${PODS} pods x ${ROUNDS} alternating rounds: median ${a.toFixed(1)} pods/s without, ` +
        `${b.toFixed(1)} pods/s with the webhook: ${(a / b).toFixed(2)}x slower with injection (median of paired rounds ${paired.toFixed(2)}x)`,
    );
  } finally {
    webhook.kill('SIGTERM');
    await fx.cleanup();
  }
}

out(`# acp webhook benchmark (${new Date().toISOString()}, node ${process.version})`);
await webhookAlone();
if (!argv.includes('--skip-apiserver')) await throughputRounds();
process.exit(0);
