// Benchmark of the admission webhooks (not part of `npm test`; run with
// `npm run bench:webhooks`). Two measurements, each repeated in rounds and
// quoted as medians because the machine is shared and noisy:
// 1. the webhook alone: AdmissionReview latency p50/p99 under 50
//    concurrent keep-alive HTTPS requests (the real express app and TLS in
//    a child process pinned to core 0; oha, the load generator, on core 1:
//    `bash test/bench/sidecar/install.sh` builds it), closed loop (as
//    fast as it answers: a saturation test) and open loop (a fixed rate);
//    plus the server's CPU time per admission, which noise disturbs least,
//    and the closed loop again from acp-loadgen (Go) as a second client;
// 2. pod creations per second through a real kube-apiserver with the
//    webhook in the path (namespace opted in; `node webhooks/src/main.ts`
//    as a child process) versus without it (a namespace it never matches),
//    alternating rounds in the same run.
// Flags: --requests N (per latency round, default 20000), --pods N (per
// apiserver round, default 200), --rounds N (default 5), --concurrency N
// (apiserver, default 10), --rate N (open-loop requests/s, default 1000),
// --pod typical|minimal (the app pod: app-pod.yaml, or one bare container),
// --reinvocation IfNeeded|Never (the chart value webhook.reinvocationPolicy),
// --webhook-nice N (CPU priority of the webhook process, e.g. -10), --skip-latency, --skip-apiserver, --profile DIR (a CPU profile
// of the latency server).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { WEBHOOK_NODE_FLAGS } from '../../harness/node-flags.ts';
import { chartMemoryCgroup } from '../memory.ts';
import { runLoadgen } from '../loadgen.ts';
import { ohaCommand, runOha } from '../oha.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const argv = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const REQUESTS = flag('requests', 20_000);
const PODS = flag('pods', 200);
const ROUNDS = flag('rounds', 5);
const CONCURRENCY = flag('concurrency', 10);
const RATE = flag('rate', 1000);
const REINVOCATION = argv.includes('--reinvocation') ? argv[argv.indexOf('--reinvocation') + 1] : 'IfNeeded';
const POD = argv.includes('--pod') ? argv[argv.indexOf('--pod') + 1] : 'typical';
if (POD !== 'typical' && POD !== 'minimal') throw new Error('--pod is typical or minimal');
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}
const TEMPLATE: PodTemplate =
  POD === 'typical'
    ? (parse(readFileSync(join(import.meta.dirname, 'app-pod.yaml'), 'utf8')) as PodTemplate)
    : { metadata: { labels: { app: 'bench' } }, spec: { containers: [{ name: 'app', image: 'bench:1' }] } };
// The webhook runs in a memory cgroup limited like its container in the chart (../memory.ts).
const { limit: webhookLimit, cgroup: webhookCgroup } = chartMemoryCgroup(
  'webhook',
  `acp-bench-webhook-${process.pid}`,
);
const launch = (argv: string[]): string[] => webhookCgroup?.wrap(argv) ?? argv;
const memoryNote = (): string =>
  webhookCgroup
    ? `webhook in a memory cgroup limited to ${webhookLimit} (the chart's limit), node flags ${WEBHOOK_NODE_FLAGS.join(' ')}; OOM kills: ${webhookCgroup.oomKills()}`
    : 'no writable memory cgroup here: the webhook ran UNCONSTRAINED';
// --profile DIR: CPU profiles of the webhook processes (written when they exit).
const profileFlags = argv.includes('--profile')
  ? ['--cpu-prof', `--cpu-prof-dir=${argv[argv.indexOf('--profile') + 1]}`]
  : [];
// --webhook-node-flags "...": more node flags for the webhook of the apiserver measurement (e.g. --trace-gc).
const extraNodeFlags = argv.includes('--webhook-node-flags')
  ? (argv[argv.indexOf('--webhook-node-flags') + 1] ?? '').split(' ').filter(Boolean)
  : [];
const out = (s: string): boolean => process.stdout.write(`${s}\n`);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** CPU time (user + system) so far, in ms, from a Linux /proc stat file (a process's or one thread's). */
function cpuMsOf(statFile: string): number {
  const fields = readFileSync(statFile, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
const cpuMs = (pid: number): number => cpuMsOf(`/proc/${pid}/stat`);

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
 * Sends REQUESTS AdmissionReviews over 50 keep-alive HTTPS connections with
 * oha pinned to core 1 (the webhook has core 0). Closed loop (rate 0): 50
 * always in flight, as fast as the server answers. Open loop (rate R): R
 * requests/s on schedule, latency counted from when each was due.
 */
async function latencyRound(
  port: number,
  caFile: string,
  bodyFile: string,
  rate = 0,
): Promise<LatencyResult> {
  const args = [
    '-c',
    '50',
    '-n',
    String(REQUESTS),
    ...(rate > 0 ? ['-q', String(rate), '--latency-correction'] : []),
    '-m',
    'POST',
    '-D',
    bodyFile,
    '-T',
    'application/json',
    '--cacert',
    caFile,
    `https://127.0.0.1:${port}/inject`,
  ];
  const r = await runOha(args, '1');
  if ((r.statuses['200'] ?? 0) !== r.total) throw new Error(`non-200 answers: ${JSON.stringify(r.statuses)}`);
  return { p50: r.p50ms, p99: r.p99ms, rps: r.rps };
}

/**
 * The same closed loop measured by acp-loadgen (Go, ../loadgen.ts) for
 * LOADGEN_SECONDS: a second client, because oha's TLS client showed stalls
 * of its own in the sidecar benchmark.
 */
const LOADGEN_SECONDS = 3;
async function loadgenRound(port: number, caFile: string, bodyFile: string): Promise<LatencyResult> {
  const args = [
    '-url',
    `https://127.0.0.1:${port}/inject`,
    '-c',
    '50',
    '-d',
    `${LOADGEN_SECONDS}s`,
    '-m',
    'POST',
  ];
  args.push('-D', bodyFile, '-H', 'Content-Type: application/json', '-cacert', caFile);
  const r = await runLoadgen(args, '1');
  if ((r.statuses['200'] ?? 0) !== r.total) throw new Error(`non-200 answers: ${JSON.stringify(r.statuses)}`);
  return { p50: r.p50ms, p99: r.p99ms, rps: r.rps };
}

async function webhookAlone(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'acp-bench-'));
  const bodyFile = join(dir, 'review.json');
  const profile = profileFlags;
  const pod = { ...TEMPLATE, metadata: { ...TEMPLATE.metadata, name: 'bench', namespace: 'shop' } };
  writeFileSync(
    bodyFile,
    JSON.stringify({
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
    }),
  );
  // Two webhooks, both pinned to core 0 and measured in alternating rounds: as shipped (in its
  // container's memory limit, with the chart's node flags) and as a bare process on the host.
  const variants = [
    { name: 'as shipped', argv: (a: string[]) => launch([process.execPath, ...WEBHOOK_NODE_FLAGS, ...a]) },
    { name: 'unconstrained', argv: (a: string[]) => [process.execPath, ...a] },
  ].map((v, i) => {
    const caFile = join(dir, `ca-${i}.crt`);
    const cmd = v.argv([...profile, join(import.meta.dirname, 'static-server.ts'), caFile]);
    const server = spawn('taskset', ['-c', '0', ...cmd], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    return {
      ...v,
      caFile,
      server,
      port: 0,
      pid: 0,
      closed: [] as (LatencyResult & { cpuUs: number })[],
      open: [] as LatencyResult[],
      goClosed: [] as LatencyResult[],
    };
  });
  try {
    for (const v of variants) {
      const m = await waitForLine(v.server, /PORT (\d+) PID (\d+)/);
      v.port = Number(m[1]);
      v.pid = Number(m[2]);
      await latencyRound(v.port, v.caFile, bodyFile); // warm-up
    }
    out(
      `  load: ${ohaCommand(['-c', '50', '-n', String(REQUESTS), '-m', 'POST', '-D', bodyFile, '...'], '1').join(' ')}; webhooks: taskset -c 0`,
    );
    for (let i = 0; i < ROUNDS; i++) {
      for (const v of i % 2 ? [...variants].reverse() : variants) {
        const cpu0 = cpuMs(v.pid);
        const r = await latencyRound(v.port, v.caFile, bodyFile);
        const cpuUs = ((cpuMs(v.pid) - cpu0) * 1000) / REQUESTS;
        v.closed.push({ ...r, cpuUs });
        const o = await latencyRound(v.port, v.caFile, bodyFile, RATE);
        v.open.push(o);
        const g = await loadgenRound(v.port, v.caFile, bodyFile);
        v.goClosed.push(g);
        out(
          `  round ${i + 1} ${v.name.padEnd(13)}: closed loop p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.rps.toFixed(0)} req/s, ` +
            `server CPU ${cpuUs.toFixed(0)} us/request; open loop at ${RATE}/s p50 ${o.p50.toFixed(2)} ms, p99 ${o.p99.toFixed(2)} ms; ` +
            `closed loop by acp-loadgen p50 ${g.p50.toFixed(2)} ms, p99 ${g.p99.toFixed(2)} ms, ${g.rps.toFixed(0)} req/s`,
        );
      }
    }
    const med = (xs: LatencyResult[], k: keyof LatencyResult): string =>
      median(xs.map((x) => x[k])).toFixed(2);
    for (const v of variants) {
      out(
        `webhook alone (${v.name}), 50 concurrent (closed loop), ${REQUESTS} requests x ${ROUNDS}: median p50 ${med(v.closed, 'p50')} ms, ` +
          `median p99 ${med(v.closed, 'p99')} ms, median ${med(v.closed, 'rps')} req/s, ` +
          `median server CPU ${median(v.closed.map((r) => r.cpuUs)).toFixed(0)} us/request; ` +
          `open loop at ${RATE} req/s: median p50 ${med(v.open, 'p50')} ms, median p99 ${med(v.open, 'p99')} ms; ` +
          `closed loop by acp-loadgen (${LOADGEN_SECONDS} s): median p50 ${med(v.goClosed, 'p50')} ms, median p99 ${med(v.goClosed, 'p99')} ms, median ${med(v.goClosed, 'rps')} req/s`,
      );
    }
    out(memoryNote());
  } finally {
    for (const v of variants) {
      v.server.kill('SIGTERM');
      if (v.pid) process.kill(v.pid, 'SIGTERM');
    }
  }
}

async function throughputRounds(): Promise<void> {
  process.env['CI'] = '';
  const { useCluster, createNamespace, kubectl } = await import('../../src/index.ts');
  const { webhookFixture, eventually } = await import('../../integration/support/webhook-fixture.ts');
  const cluster = await useCluster();
  const fx = await webhookFixture(cluster, { helmSet: [`webhook.reinvocationPolicy=${REINVOCATION}`] });
  const inject = await createNamespace(
    cluster,
    'bench-inject',
    fx.labels({ 'acp.dev/injection': 'enabled' }),
  );
  const plain = await createNamespace(cluster, 'bench-plain', fx.labels());
  // --webhook-nice N: run the webhook at another CPU priority, to see how much of its latency is
  // waiting for a core that kube-apiserver and etcd hold on this small machine.
  const nice = argv.includes('--webhook-nice')
    ? ['nice', '-n', argv[argv.indexOf('--webhook-nice') + 1] ?? '0']
    : [];
  const command = launch([
    ...nice,
    process.execPath,
    ...WEBHOOK_NODE_FLAGS,
    ...profileFlags,
    ...extraNodeFlags,
    join(root, 'webhooks', 'src', 'main.ts'),
    ...fx.args,
    '--log-level=warn',
  ]);
  const webhook = spawn(command[0]!, command.slice(1), {
    cwd: root,
    env: { ...process.env, KUBECONFIG: cluster.kubeconfig },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
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
    const podBody = (namespace: string, spec: unknown = TEMPLATE.spec) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...TEMPLATE.metadata, name: `bench-${n++}`, namespace },
      spec,
    });
    let injectedSpec: Record<string, any> | undefined;
    await eventually('pods are injected', async () => {
      const p = await cluster.core.createNamespacedPod({ namespace: inject, body: podBody(inject) as V1Pod });
      if (!(p.spec?.initContainers ?? []).some((c) => c.name === 'acp-sidecar')) return false;
      // The same pod as stored (less the ServiceAccount plugin's token volume): the third arm.
      const raw = await kubectl(cluster, ['get', 'pod', p.metadata!.name!, '-n', inject, '-o', 'json']);
      const spec = (JSON.parse(raw.stdout) as { spec: Record<string, any> }).spec;
      const token = (name: string) => name.startsWith('kube-api-access-');
      for (const c of [...spec['initContainers'], ...spec['containers']]) {
        c.volumeMounts = (c.volumeMounts ?? []).filter((m: { name: string }) => !token(m.name));
      }
      spec['volumes'] = spec['volumes'].filter((v: { name: string }) => !token(v.name));
      delete spec['nodeName'];
      injectedSpec = spec;
      return true;
    });
    // A lean client (raw HTTPS, response bodies discarded) so the bench process parses nothing.
    const tls: RequestOptions = {};
    await cluster.kc.applyToHTTPSOptions(tls);
    const api = new URL(cluster.server);
    const agent = new Agent({
      keepAlive: true,
      maxSockets: CONCURRENCY,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
    });
    const post = (namespace: string, body: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            hostname: api.hostname,
            port: api.port,
            path: `/api/v1/namespaces/${namespace}/pods`,
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 201 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    type Arm = 'with webhook' | 'without webhook' | 'pre-injected, no webhook';
    type Cpu = Record<'apiserver' | 'etcd' | 'webhook', number[]>;
    const arms: Record<Arm, { namespace: string; spec?: unknown; rates: number[]; cpu: Cpu }> = {
      'with webhook': { namespace: inject, rates: [], cpu: { apiserver: [], etcd: [], webhook: [] } },
      'without webhook': { namespace: plain, rates: [], cpu: { apiserver: [], etcd: [], webhook: [] } },
      'pre-injected, no webhook': {
        namespace: plain,
        spec: injectedSpec,
        rates: [],
        cpu: { apiserver: [], etcd: [], webhook: [] },
      },
    };
    // CPU time per pod of each process on the path (the only kube-apiserver and etcd on the machine).
    const pidsOf = (name: string): number[] =>
      execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).trim().split('\n').map(Number);
    const procs = { apiserver: pidsOf('kube-apiserver'), etcd: pidsOf('etcd'), webhook: [webhook.pid!] };
    const cpuNow = (): Record<keyof Cpu, number> => ({
      apiserver: procs.apiserver.reduce((a, p) => a + cpuMs(p), 0),
      etcd: procs.etcd.reduce((a, p) => a + cpuMs(p), 0),
      webhook: cpuMs(procs.webhook[0]!),
    });
    const round = async (arm: Arm): Promise<number> => {
      const { namespace, spec } = arms[arm];
      let left = PODS;
      const cpu0 = cpuNow();
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (left-- > 0) await post(namespace, JSON.stringify(podBody(namespace, spec ?? undefined)));
        }),
      );
      const rate = PODS / (Number(process.hrtime.bigint() - started) / 1e9);
      const cpu1 = cpuNow();
      for (const k of ['apiserver', 'etcd', 'webhook'] as const)
        arms[arm].cpu[k].push((cpu1[k] - cpu0[k]) / PODS);
      return rate;
    };
    const names = Object.keys(arms) as Arm[];
    for (const arm of names) await round(arm); // warm-up
    for (let i = 0; i < ROUNDS; i++) {
      for (let k = 0; k < names.length; k++) {
        const arm = names[(i + k) % names.length]!;
        const rate = await round(arm);
        arms[arm].rates.push(rate);
        out(`  round ${i + 1} ${arm.padEnd(24)}: ${rate.toFixed(1)} pods/s`);
      }
    }
    agent.destroy();
    // What the apiserver itself measured for its calls to the webhook (all rounds, warm-up included).
    const metrics = (await kubectl(cluster, ['get', '--raw', '/metrics'])).stdout;
    const series = (suffix: string): number =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith(`apiserver_admission_webhook_admission_duration_seconds_${suffix}{`))
        .filter((l) => l.includes('name="namespace.inject.acp.dev"'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    const calls = series('count');
    // The webhook's own count of TLS connections (its /metrics on the admission port; loopback, bench only).
    const own = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: fx.port, path: '/metrics', rejectUnauthorized: false },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    const connections = /^acp_webhook_tls_connections_total (\d+)/m.exec(own)?.[1] ?? '?';
    out(`  the webhook accepted ${connections} TLS connections in all`);
    out(
      `  the apiserver called the webhook ${calls} times for ${n} pods (reinvocation ${REINVOCATION}), ` +
        `mean ${((series('sum') / Math.max(1, calls)) * 1000).toFixed(2)} ms per call as the apiserver measured it`,
    );
    const w = arms['with webhook'].rates;
    const wo = arms['without webhook'].rates;
    const pre = arms['pre-injected, no webhook'].rates;
    // Rounds hold one run of each arm back to back: the ratio within a round is what drifts least.
    const paired = (a: number[], b: number[]): string => median(a.map((x, k) => x / b[k]!)).toFixed(2);
    out(
      `apiserver, ${CONCURRENCY} concurrent creates, ${PODS} pods x ${ROUNDS} rotating rounds: median ${median(wo).toFixed(1)} pods/s without the webhook, ` +
        `${median(w).toFixed(1)} with it: ${paired(wo, w)}x slower with injection (median of per-round ratios); ` +
        `the same injected pod created without the webhook: ${median(pre).toFixed(1)} pods/s, so the webhook call itself costs ${paired(pre, w)}x ` +
        `and the bigger pod ${paired(wo, pre)}x`,
    );
    for (const arm of names) {
      const c = arms[arm].cpu;
      out(
        `  CPU per pod, ${arm.padEnd(24)}: kube-apiserver ${median(c.apiserver).toFixed(2)} ms, etcd ${median(c.etcd).toFixed(2)} ms, ` +
          `webhook ${median(c.webhook).toFixed(2)} ms (medians over rounds)`,
      );
    }
    // Where the webhook's CPU went, by thread (main = JavaScript and TLS; the rest V8 and libuv helpers).
    const threads = readdirSync(`/proc/${webhook.pid}/task`).map((tid) => {
      const task = `/proc/${webhook.pid}/task/${tid}`;
      return { name: readFileSync(`${task}/comm`, 'utf8').trim(), ms: cpuMsOf(`${task}/stat`) };
    });
    const byName = new Map<string, number>();
    for (const t of threads) byName.set(t.name, (byName.get(t.name) ?? 0) + t.ms);
    out(
      `  webhook CPU by thread over the whole run: ${[...byName].map(([n, ms]) => `${n} ${ms.toFixed(0)} ms`).join(', ')}`,
    );
    out(memoryNote());
  } finally {
    const exited = new Promise((r) => webhook.once('exit', r));
    webhook.kill('SIGTERM');
    await exited; // (a CPU profile is written on exit)
    await fx.cleanup();
  }
}

out(
  `# acp webhook benchmark (${new Date().toISOString()}, node ${process.version}, --pod ${POD}, --reinvocation ${REINVOCATION})`,
);
if (!argv.includes('--skip-latency')) await webhookAlone();
if (!argv.includes('--skip-apiserver')) await throughputRounds();
process.exit(0);
