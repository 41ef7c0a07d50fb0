// Calls by Service name on a real node (kubelet + containerd + CNI +
// kube-proxy): the chart installed with helm, a callee Deployment behind a
// plain Service (port 8080 -> the app's 8080), and caller pods whose app
// is an unmodified HTTP client that only uses the injected proxy variables
// (node:http with `proxyEnv: process.env`). The caller's sidecar finds the
// Service in its mesh directory and originates mTLS to the callee's
// sidecar through the operator's companion Service. Checked: short name
// and FQDN (200, the callee's audit shows the caller's SPIFFE ID), a
// caller the callee does not allow (403), a non-meshed destination the
// caller may not reach (403), zero failed requests at ~200 req/s while the
// callee scales 1 -> 3 and rolls (with the operator's writes counted), and
// an impostor pod behind the same Service refused by the caller (502).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { kubectl, useCluster, type TestCluster } from '../../harness/cluster.ts';
import {
  applyJson,
  deployApp,
  injectedNamespace,
  installChart,
  must,
  pods,
  readyPods,
  RELEASE_NAMESPACE,
  until,
  APP_LISTENING,
  IDLE_JS,
  policyDoc,
  readyPodName,
} from '../../harness/node/product.ts';

const image = process.env['ACP_TEST_IMAGE'] ?? '';
const NS = 'mesh';
const idOf = (sa: string): string => `spiffe://cluster.local/ns/${NS}/sa/${sa}`;
const figures: Record<string, string> = {};
const note = (k: string, v: string): void => {
  figures[k] = v;
  process.stdout.write(`# figure: ${k}: ${v}\n`);
};

/**
 * The callee app: echoes the caller's identity, and on SIGTERM keeps serving
 * for 5 s before it exits (what any app behind a Service should do, so that
 * kube-proxy stops sending it connections first).
 */
const CALLEE_JS = `
const s = require('http').createServer((q, r) => {
  r.setHeader('content-type', 'text/plain');
  r.end(q.method + ' ' + q.url + ' caller=' + (q.headers['x-acp-peer-id'] || '-') + ' host=' + process.env.HOSTNAME + '\\n');
}).listen(8080, '127.0.0.1');
process.on('SIGTERM', () => setTimeout(() => { s.close(); process.exit(0); }, 5000));
`.trim();

/**
 * The client, run in a caller's app container with `node -e CLIENT_JS <url> <rate/s> <seconds>`:
 * node:http through the proxy the webhook injected (HTTP_PROXY / NO_PROXY, nothing hard-coded),
 * keep-alive. One call (rate 0) prints `<status> <body>`; a load run prints JSON counts.
 */
const CLIENT_JS = `
const http = require('http');
const [url, rate, seconds] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64, proxyEnv: process.env });
const get = () => new Promise((done) => {
  const q = http.get(url, { agent }, (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => done({ status: r.statusCode, body: b.trim() })); });
  q.setTimeout(10000, () => q.destroy(new Error('client timeout')));
  q.on('error', (e) => done({ status: 0, body: e.code || e.message }));
});
if (Number(rate) === 0) get().then((r) => { console.log(r.status, r.body); process.exit(0); });
else {
  const counts = { sent: 0, ok: 0, failed: 0, statuses: {}, errors: {}, hosts: {} };
  let end = Date.now() + Number(seconds) * 1000;
  process.stdin.on('data', () => (end = 0)); // the test says when to stop
  process.stdin.on('end', () => (end = 0));
  const pending = [];
  const tick = setInterval(() => {
    if (Date.now() > end) { clearInterval(tick); Promise.all(pending).then(() => { console.log(JSON.stringify(counts)); process.exit(0); }); return; }
    for (let i = 0; i < Number(rate) / 20; i++) {
      counts.sent++;
      pending.push(get().then((r) => {
        counts.statuses[r.status] = (counts.statuses[r.status] || 0) + 1;
        if (r.status === 200) { counts.ok++; const h = (r.body.match(/host=(\\S+)/) || [])[1]; counts.hosts[h] = (counts.hosts[h] || 0) + 1; }
        else { counts.failed++; counts.errors[r.body.slice(0, 120)] = (counts.errors[r.body.slice(0, 120)] || 0) + 1; }
      }));
    }
  }, 50);
}
`.trim();

function deployment(o: {
  name: string;
  sa: string;
  labels: Record<string, string>;
  js: string;
  probe?: boolean;
}): Promise<void> {
  return deployApp(cluster, {
    namespace: NS,
    name: o.name,
    serviceAccount: o.sa,
    labels: o.labels,
    image,
    js: o.js,
    ...(o.probe ? { container: APP_LISTENING } : {}),
    deployment: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } },
  });
}

/** A Deployment of the callee app selected by the payments Service (app=payments), under its own service account. */
const callee = (name: string, track: string): Promise<void> =>
  deployment({ name, sa: name, labels: { app: 'payments', track }, js: CALLEE_JS, probe: true });
/** A caller Deployment (role=caller, so the callers policy governs it) under its own service account. */
const caller = (name: string): Promise<void> =>
  deployment({ name, sa: name, labels: { role: 'caller', app: name }, js: IDLE_JS });

const policy = (name: string, spec: object): object => policyDoc(NS, name, spec);

let cluster: TestCluster;

const podOf = (selector: string): Promise<string> => readyPodName(cluster, NS, selector);

/** Runs the client in the pod's app container; one call unless rate > 0. */
/** kubectl exec arguments that run the client in a pod's app container. */
const clientArgs = (pod: string, url: string, rate: number, seconds: number, stdin = false): string[] => [
  'exec',
  ...(stdin ? ['-i'] : []),
  ...['-n', NS, pod, '-c', 'app', '--', 'node', '-e', CLIENT_JS, url, String(rate), String(seconds)],
];

/** Runs the client in the pod's app container; one call unless rate > 0. */
async function client(pod: string, url: string, rate = 0, seconds = 0): Promise<string> {
  const r = await kubectl(cluster, clientArgs(pod, url, rate, seconds));
  return r.stdout.trim() || r.stderr.trim();
}

/** Sum of acp_operator_policy_writes_total by kind over every operator replica (only the leader writes). */
async function operatorWrites(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of await pods(cluster, RELEASE_NAMESPACE, 'app.kubernetes.io/component=operator')) {
    const r = await kubectl(cluster, [
      'exec',
      '-n',
      RELEASE_NAMESPACE,
      p.name,
      '--',
      'node',
      '-e',
      "require('http').get('http://127.0.0.1:8080/metrics',r=>{let b='';r.on('data',c=>b+=c);r.on('end',()=>console.log(b))})",
    ]);
    for (const line of r.stdout.split('\n')) {
      const m = /^acp_operator_policy_writes_total\{kind="([^"]+)"\} (\d+)/.exec(line);
      if (m?.[1]) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
    }
  }
  return out;
}

const delta = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    [...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]),
  );

interface MeshConfig {
  services: { name: string; address: string; identities: string[] }[];
}
async function callerDirectory(): Promise<MeshConfig | undefined> {
  const raw = await must(cluster, [
    'get',
    'configmap',
    'acp-config-callers',
    '-n',
    NS,
    '-o',
    'jsonpath={.data.sidecar\\.json}',
  ]);
  return (JSON.parse(raw) as { mesh?: MeshConfig }).mesh;
}

describe('calls by Service name on a real node', { timeout: 1_500_000 }, () => {
  let checkout: string;

  before(async () => {
    assert.ok(image, 'ACP_TEST_IMAGE is set by the test command after `npm run image`');
    cluster = await useCluster();
    await installChart(cluster, image);
    await injectedNamespace(cluster, NS, ['payments', 'checkout', 'intruder', 'impostor']);
    await applyJson(
      cluster,
      policy('payments', {
        selector: { matchLabels: { app: 'payments' } },
        upstream: { port: 8080 },
        mtls: { mode: 'Strict', allowedPeers: [{ namespace: NS, serviceAccount: 'checkout' }] },
        audit: { enabled: true },
      }),
    );
    // Callers may call the payments Service by name, and nothing else.
    await applyJson(
      cluster,
      policy('callers', {
        selector: { matchLabels: { role: 'caller' } },
        upstream: { port: 8080 },
        egress: { default: 'Deny', allow: [{ service: 'payments' }] },
      }),
    );
    await applyJson(cluster, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'payments', namespace: NS, annotations: { 'acp.dev/service-accounts': 'payments' } },
      spec: { selector: { app: 'payments' }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
    });
    await callee('payments', 'legit');
    await caller('checkout');
    await caller('intruder');
    await readyPods(cluster, NS, 'app=payments', 1, 240_000);
    checkout = await podOf('app=checkout');
  });
  after(() => process.stdout.write(`# mesh real-node figures: ${JSON.stringify(figures)}\n`));

  test('the operator keeps a companion Service on the sidecar port and gives the callers its address', async () => {
    const companion = JSON.parse(
      await until('the companion Service', 60_000, () =>
        must(cluster, ['get', 'svc', 'acp-mesh-payments', '-n', NS, '-o', 'json']),
      ),
    ) as {
      spec: { clusterIP: string; ports: { port: number; targetPort: string }[] };
    };
    assert.deepEqual(
      companion.spec.ports.map((p) => [p.port, p.targetPort]),
      [[8443, 'acp-tls']],
    );
    const dir = await until('the callers directory with the companion address', 90_000, async () => {
      const m = await callerDirectory();
      return m?.services[0]?.address ? m : undefined;
    });
    assert.equal(dir.services[0]?.address, companion.spec.clusterIP);
    assert.deepEqual(dir.services[0]?.identities, [idOf('payments')]);
  });

  test('an unmodified client reaches the Service by short name and by FQDN over mTLS; the callee audit shows the caller', async () => {
    for (const host of ['payments', 'payments.mesh', 'payments.mesh.svc.cluster.local']) {
      const out = await until(`checkout -> http://${host}:8080`, 90_000, async () => {
        const o = await client(checkout, `http://${host}:8080/by-name/${host}`);
        return o.startsWith('200') ? o : undefined;
      });
      assert.match(out, new RegExp(`caller=${idOf('checkout')}`));
    }
    const callee = await podOf('app=payments');
    const records = await until("the callee's audit records", 30_000, async () => {
      const logs = await must(cluster, ['logs', '-n', NS, callee, '-c', 'acp-sidecar']);
      const recs = logs
        .split('\n')
        .filter((l) => l.includes('"type":"audit"') && l.includes('/by-name/'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return recs.length >= 3 ? recs : undefined;
    });
    assert.ok(
      records.every((r) => r['peer'] === idOf('checkout') && r['status'] === 200),
      JSON.stringify(records),
    );
    // the sidecar's audit lines are buffered: poll, as for the callee's
    const named = await until("the caller's audit naming the callee", 30_000, async () => {
      const callerLogs = await must(cluster, ['logs', '-n', NS, checkout, '-c', 'acp-sidecar']);
      const outbound = callerLogs
        .split('\n')
        .filter(
          (l) => l.includes('"direction":"outbound"') && l.includes('"destination":"mesh/payments:8080"'),
        );
      return outbound.some(
        (l) => l.includes(`"peer":"${idOf('payments')}"`) && l.includes('"decision":"allow"'),
      )
        ? outbound
        : undefined;
    }).catch(() => undefined);
    assert.ok(named, "the caller's audit names the callee");
  });

  test('a Node app’s plain fetch() reaches the Service by name with nothing but the variables the webhook injected', async () => {
    // NODE_USE_ENV_PROXY=1 (injected) makes fetch use HTTP_PROXY; it tunnels http:// with CONNECT,
    // which the caller's sidecar serves as HTTP/1.1 over mTLS to the callee.
    const env = await must(cluster, [
      'exec',
      '-n',
      NS,
      checkout,
      '-c',
      'app',
      '--',
      'node',
      '-p',
      'process.env.NODE_USE_ENV_PROXY',
    ]);
    assert.equal(env.trim(), '1');
    const js = `fetch(process.argv[1]).then(async (r) => console.log(r.status, (await r.text()).trim()), (e) => console.log('error', String(e.cause ?? e)))`;
    const out = await until('checkout fetch() -> http://payments:8080', 90_000, async () => {
      const r = await kubectl(cluster, [
        ...['exec', '-n', NS, checkout, '-c', 'app', '--', 'node', '-e', js],
        'http://payments:8080/fetched',
      ]);
      const o = r.stdout.trim();
      return o.startsWith('200') ? o : undefined;
    });
    assert.match(out, /GET \/fetched /);
    assert.match(out, new RegExp(`caller=${idOf('checkout')}`));
  });

  test('curl --http2-prior-knowledge in the caller pod (CONNECT, h2c inside) reaches the Service by name over h2 + mTLS', async () => {
    // The image has no curl: the host's curl runs in the caller pod's network namespace, where
    // 127.0.0.1:15001 is that pod's sidecar (the pod's netns is the one holding its IP).
    const ip = (
      await must(cluster, ['get', 'pod', checkout, '-n', NS, '-o', 'jsonpath={.status.podIP}'])
    ).trim();
    const netns = readdirSync('/run/netns').find((n) =>
      spawnSync('ip', ['netns', 'exec', n, 'ip', '-4', '-o', 'addr'], { encoding: 'utf8' }).stdout.includes(
        ` ${ip}/`,
      ),
    );
    assert.ok(netns, `the network namespace of ${checkout} (${ip})`);
    const curl = (extra: string[]) =>
      spawnSync(
        'ip',
        [
          ...['netns', 'exec', netns, 'curl', '-sS', '-i', '--max-time', '20'],
          ...['-x', 'http://127.0.0.1:15001', ...extra, 'http://payments:8080/curl-h2'],
        ],
        { encoding: 'utf8' },
      );
    const r = curl(['--proxytunnel', '--http2-prior-knowledge']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200 Connection Established/i, 'the CONNECT answer');
    assert.match(r.stdout, /\r\n\r\nHTTP\/2 200/, 'then h2 inside the tunnel');
    assert.match(r.stdout, new RegExp(`GET /curl-h2 caller=${idOf('checkout')}`));
    const upgrade = curl(['--http2']); // an h2c upgrade through a proxy stays HTTP/1.1
    assert.match(upgrade.stdout, /^HTTP\/1\.1 200/, upgrade.stderr);
    assert.match(upgrade.stdout, new RegExp(`caller=${idOf('checkout')}`));
  });

  test('a caller the callee does not allow gets 403 from the callee, which names it', async () => {
    const intruder = await podOf('app=intruder');
    const out = await until('intruder -> payments answered', 90_000, async () => {
      const o = await client(intruder, 'http://payments:8080/steal');
      return o.startsWith('403') ? o : undefined;
    });
    assert.match(out, /ACP_ERR_PEER_NOT_ALLOWED/);
  });

  test('a destination that is neither meshed nor allowed gets 403 from the caller sidecar', async () => {
    const out = await client(checkout, 'http://example.invalid:8080/x');
    assert.match(out, /^403 .*ACP_ERR_EGRESS_DENIED/);
  });

  test('zero failed requests at ~200 req/s while the callee scales from 1 to 3 and rolls; no directory write', async () => {
    const writesBefore = await operatorWrites();
    const dirBefore = JSON.stringify(await callerDirectory());
    let load = '';
    // Runs until told to stop on stdin (at most 400 s).
    const p = spawn(cluster.kubectlPath, clientArgs(checkout, 'http://payments:8080/load', 200, 400, true), {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    p.stdout.on('data', (d: Buffer) => (load += d.toString()));
    const loader = new Promise<void>((done) => p.on('close', () => done()));
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    await must(cluster, ['scale', 'deployment', 'payments', '-n', NS, '--replicas=3']);
    await readyPods(cluster, NS, 'app=payments', 3, 180_000);
    note('scale 1 -> 3 Ready after', `${((Date.now() - t0) / 1000 - 10).toFixed(1)} s`);
    await must(cluster, ['rollout', 'restart', 'deployment', 'payments', '-n', NS]);
    await must(cluster, ['rollout', 'status', 'deployment', 'payments', '-n', NS, '--timeout=240s']);
    note('scale + roll finished after', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // The old pods finish terminating (5 s of graceful shutdown) under load too.
    await new Promise((r) => setTimeout(r, 15_000));
    p.stdin.end('stop\n');
    await loader;
    const seconds = (Date.now() - t0) / 1000;
    const counts = JSON.parse(load.trim().split('\n').at(-1) ?? '{}') as {
      sent: number;
      ok: number;
      failed: number;
      hosts: Record<string, number>;
      errors: Record<string, number>;
    };
    note(
      'load',
      `${counts.sent} requests in ${seconds.toFixed(0)} s, ${counts.ok} ok, ${counts.failed} failed, ${Object.keys(counts.hosts).length} callee pods answered`,
    );
    assert.ok(counts.sent >= 2000, `sent ${counts.sent} in ${seconds} s`);
    assert.equal(counts.failed, 0, JSON.stringify(counts.errors));
    assert.ok(Object.keys(counts.hosts).length >= 4, `answered by ${Object.keys(counts.hosts).join(', ')}`);
    const writes = delta(writesBefore, await operatorWrites());
    note('operator writes during scale 1 -> 3 and roll (by kind)', JSON.stringify(writes));
    assert.equal(JSON.stringify(await callerDirectory()), dirBefore, "the callers' directory did not change");
    assert.equal(writes['ConfigMap'] ?? 0, 0, 'no compiled config rewritten for pod churn');
    assert.equal(writes['Service'] ?? 0, 0, 'the companion Service untouched by pod churn');
  });

  test('an impostor pod behind the same Service (another service account) is refused by the caller with 502', async () => {
    await callee('impostor', 'impostor');
    await readyPods(cluster, NS, 'track=impostor', 1, 180_000);
    await must(cluster, ['scale', 'deployment', 'payments', '-n', NS, '--replicas=0']);
    await until('only the impostor left behind the Service', 120_000, async () => {
      const left = await pods(cluster, NS, 'app=payments');
      return left.length === 1 && left[0]?.name.startsWith('impostor') ? true : undefined;
    });
    const out = await until('checkout refused by its own sidecar', 60_000, async () => {
      const o = await client(checkout, 'http://payments:8080/secret');
      return o.startsWith('502') ? o : undefined;
    });
    assert.match(out, /ACP_ERR_EGRESS_PEER_MISMATCH/);
    assert.match(out, new RegExp(idOf('impostor')));
    const impostor = await podOf('track=impostor');
    const logs = await must(cluster, ['logs', '-n', NS, impostor, '-c', 'acp-sidecar']);
    assert.doesNotMatch(logs, /\/secret/, 'the impostor never saw the request');
    assert.deepEqual((await callerDirectory())?.services[0]?.identities, [idOf('payments')]);
  });
});
