// The product on a real node (kubelet + containerd + CNI + kube-proxy, see
// test/harness/node/): `helm install` of the chart with the product image,
// pods injected by the real webhook and run by the kubelet, traffic over
// real mTLS to pod IPs from the host and from another pod, audit records in
// `kubectl logs`, metrics on 15021, a policy edit and a certificate renewal
// reaching the running sidecar without a restart (timed), and faults: the
// operator's leader pod deleted, a webhook pod deleted while pods are
// created, the sidecar process killed. Run by `npm test` in its real-node
// phase; the tests share one installation and run in order.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { helm, kubectl, useCluster, type TestCluster } from '../../harness/cluster.ts';
import { meshRequest } from '../../harness/mesh-client.ts';
import {
  applyJson,
  clientsPolicy,
  deployApp,
  paymentsPolicy,
  paymentsService,
  proxiedGet,
  writeClientIdentity,
  injectedNamespace,
  must,
  testIssuer,
  newWorkloadIdentity,
  installChart,
  pods,
  readyPods,
  RELEASE_NAMESPACE,
  until,
  type PodInfo,
} from '../../harness/node/product.ts';
import { readIdentity } from '../../integration/identity-fixtures.ts';

const image = process.env['ACP_TEST_IMAGE'] ?? '';
const nodeDir = process.env['ACP_TEST_NODE_DIR'] ?? '';
const NS = 'shop';
const TRUST = 'cluster.local';
const idOf = (sa: string, ns = NS): string => `spiffe://${TRUST}/ns/${ns}/sa/${sa}`;
const figures: Record<string, string> = {};
const note = (k: string, v: string): void => {
  figures[k] = v;
  process.stdout.write(`# figure: ${k}: ${v}\n`);
};

let cluster: TestCluster;
let dir: string;
let token: string;
let payments: PodInfo;

const policy = (extraRules: object[] = []): object => paymentsPolicy(NS, jwk, extraRules);
let jwk: object;

let sign: (scope: string) => Promise<string>;

const clientIdentity = (sa: string): Promise<string> => writeClientIdentity(cluster, NS, sa, dir);

const call = (as: string | null, path: string, headers: Record<string, string> = {}) =>
  meshRequest({ host: payments.ip, port: 8443, path, dir, as, expect: idOf('payments'), headers });

/** The certificate the sidecar serves on pod-ip:8443 (no client certificate: the handshake may fail afterwards). */
function servedCertificate(ip: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: ip, port: 8443, rejectUnauthorized: false }, () => {
      const raw = s.getPeerX509Certificate();
      s.destroy();
      if (raw) resolve(raw);
      else reject(new Error('no certificate'));
    });
    s.on('error', reject);
  });
}

describe('the product on a real node', { timeout: 1_200_000 }, () => {
  before(async () => {
    assert.ok(image, 'ACP_TEST_IMAGE is set by the test command (npm test) after `npm run image`');
    cluster = await useCluster();
    dir = mkdtempSync(join(tmpdir(), 'acp-node-client-'));
    ({ jwk, sign } = testIssuer());
    token = await sign('payments:read');
  });
  after(() => process.stdout.write(`# real-node figures: ${JSON.stringify(figures)}\n`));

  test('helm install makes the operator and the webhook Available with 2 replicas each, and installs the CRD', async () => {
    const t0 = Date.now();
    await installChart(cluster, image);
    note('helm install --wait', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const name of ['acp-operator', 'acp-webhook']) {
      const d = JSON.parse(
        await must(cluster, ['get', 'deployment', name, '-n', RELEASE_NAMESPACE, '-o', 'json']),
      ) as {
        status: { availableReplicas?: number };
      };
      assert.equal(d.status.availableReplicas, 2, `${name} available replicas`);
    }
    await must(cluster, ['get', 'crd', 'apicompliancepolicies.compliance.acp.dev']);
    const hooks = JSON.parse(await must(cluster, ['get', 'mutatingwebhookconfigurations', '-o', 'json'])) as {
      items: { metadata: { name: string }; webhooks: { clientConfig: { caBundle?: string } }[] }[];
    };
    const ours = hooks.items.filter((h) => h.metadata.name.startsWith('acp'));
    assert.ok(ours.length > 0, 'a mutating webhook configuration of the chart');
    for (const h of ours)
      for (const w of h.webhooks) assert.ok(w.clientConfig.caBundle, `${h.metadata.name} has a caBundle`);
    const running = await pods(cluster, RELEASE_NAMESPACE, 'app.kubernetes.io/component=operator');
    assert.ok(
      running.every((p) => p.node === 'acp-node'),
      'the operator runs on the real node',
    );
  });

  test('helm test checks that both Deployments are available and the webhook is ready', async () => {
    const r = await helm(cluster, ['test', 'acp', '-n', RELEASE_NAMESPACE, '--logs', '--timeout', '3m']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ok acp-operator: 2\/2 replicas available/);
    assert.match(r.stdout, /ok acp-webhook: \/readyz 200 through its Service/);
    assert.match(r.stdout, /Phase:\s+Succeeded/);
  });

  test('an injected pod starts with the native sidecar ready before the app, identity and config mounted', async () => {
    await injectedNamespace(cluster, NS, ['payments', 'checkout', 'other']);
    await applyJson(cluster, policy());
    await applyJson(cluster, clientsPolicy(NS));
    const t0 = Date.now();
    await deployApp(cluster, {
      namespace: NS,
      name: 'payments',
      serviceAccount: 'payments',
      labels: { app: 'payments' },
      image,
    });
    [payments] = (await readyPods(cluster, NS, 'app=payments')) as [PodInfo];
    note('pod creation to Ready, with the sidecar', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const pod = JSON.parse(await must(cluster, ['get', 'pod', payments.name, '-n', NS, '-o', 'json'])) as {
      spec: {
        initContainers?: { name: string; restartPolicy?: string; volumeMounts?: { mountPath: string }[] }[];
      };
      status: {
        initContainerStatuses?: { name: string; state: { running?: { startedAt: string } } }[];
        containerStatuses?: { name: string; state: { running?: { startedAt: string } } }[];
      };
      metadata: { annotations?: Record<string, string> };
    };
    const sidecar = pod.spec.initContainers?.find((c) => c.name === 'acp-sidecar');
    assert.equal(sidecar?.restartPolicy, 'Always', 'a native sidecar (restartable init container)');
    const mounts = (sidecar?.volumeMounts ?? []).map((m) => m.mountPath);
    assert.ok(
      mounts.includes('/var/run/acp/identity') && mounts.includes('/etc/acp/config'),
      `mounts: ${mounts.join(', ')}`,
    );
    const sidecarStart = Date.parse(
      pod.status.initContainerStatuses?.find((c) => c.name === 'acp-sidecar')?.state.running?.startedAt ?? '',
    );
    const appStart = Date.parse(
      pod.status.containerStatuses?.find((c) => c.name === 'app')?.state.running?.startedAt ?? '',
    );
    assert.ok(
      sidecarStart <= appStart,
      `sidecar started ${new Date(sidecarStart).toISOString()}, app ${new Date(appStart).toISOString()}`,
    );
    assert.match(pod.metadata.annotations?.['acp.dev/status'] ?? '', /payments/);
    // the files the sidecar reads, listed from inside its container (the image has no shell: node lists them)
    const listing = await must(cluster, [
      'exec',
      '-n',
      NS,
      payments.name,
      '-c',
      'acp-sidecar',
      '--',
      'node',
      '-e',
      "console.log(require('fs').readdirSync('/var/run/acp/identity').sort().join(','), require('fs').existsSync('/etc/acp/config/sidecar.json'))",
    ]);
    assert.match(listing, /ca\.crt,tls\.crt,tls\.key true/);

    // for comparison: the same app without the sidecar
    const t1 = Date.now();
    await deployApp(cluster, {
      namespace: NS,
      name: 'plain',
      serviceAccount: 'other',
      labels: { app: 'plain' },
      image,
      annotations: { 'acp.dev/inject': 'false' },
    });
    await readyPods(cluster, NS, 'app=plain');
    note('pod creation to Ready, without the sidecar', `${((Date.now() - t1) / 1000).toFixed(1)} s`);
  });

  test('over the pod IP from the host: no client certificate is refused, a permitted peer with a token gets 200, others 401/403', async () => {
    await deployApp(cluster, {
      namespace: NS,
      name: 'checkout',
      serviceAccount: 'checkout',
      labels: { role: 'client', app: 'checkout' },
      image,
    });
    await clientIdentity('checkout');
    await deployApp(cluster, {
      namespace: NS,
      name: 'intruder',
      serviceAccount: 'other',
      labels: { role: 'client', app: 'intruder' },
      image,
    });
    await clientIdentity('other');
    const ok = await until('the payments sidecar answering 200 over mTLS', 60_000, async () => {
      const r = await call('checkout', '/v1/balance', { authorization: `Bearer ${token}` });
      return r.status === 200 ? r : undefined;
    });
    assert.match(ok.body, new RegExp(`GET /v1/balance caller=${idOf('checkout')} sub=alice`));
    const noCert = await call(null, '/v1/balance', { authorization: `Bearer ${token}` });
    assert.equal(noCert.status, 0, `no client certificate: ${JSON.stringify(noCert)}`);
    assert.equal((await call('checkout', '/v1/balance')).status, 401, 'no token');
    assert.equal(
      (await call('checkout', '/v1/balance', { authorization: `Bearer ${await sign('other:scope')}` }))
        .status,
      403,
      'token without the scope',
    );
    assert.equal(
      (await call('other', '/v1/balance', { authorization: `Bearer ${token}` })).status,
      403,
      'a peer not in allowedPeers',
    );
    assert.equal((await call('checkout', '/healthz')).status, 200, 'public path');
  });

  test('openssl and curl against the pod IP: the chain verifies, TLS 1.3 with AES-256-GCM, TLS 1.1 refused, no certificate refused and the app sees nothing', async () => {
    const ssl = (args: string[]): { code: number; out: string } => {
      const r = spawnSync('openssl', ['s_client', '-connect', `${payments.ip}:8443`, ...args], {
        input: '',
        encoding: 'utf8',
        timeout: 20_000,
      });
      return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
    };
    const creds = ['-cert', join(dir, 'checkout.crt'), '-key', join(dir, 'checkout.key')];
    const ok = ssl(['-verify_return_error', '-CAfile', join(dir, 'ca.crt'), ...creds]);
    assert.match(ok.out, /Verify return code: 0 \(ok\)/);
    assert.match(ok.out, /New, TLSv1\.3, Cipher is TLS_AES_256_GCM_SHA384/);
    assert.notEqual(ssl(['-tls1_1', ...creds]).code, 0, 'TLS 1.1 is refused');
    const count = async (): Promise<string> =>
      (
        await must(cluster, [
          'exec',
          '-n',
          NS,
          payments.name,
          '-c',
          'app',
          '--',
          'node',
          '-e',
          "require('http').get('http://127.0.0.1:8080/__count',r=>r.pipe(process.stdout))",
        ])
      ).trim();
    const before = await count();
    const curl = spawnSync(
      'curl',
      [
        '-sk',
        '--max-time',
        '10',
        '-H',
        `authorization: Bearer ${token}`,
        `https://${payments.ip}:8443/v1/balance`,
      ],
      { encoding: 'utf8' },
    );
    assert.notEqual(curl.status, 0, `curl without a client certificate must fail: ${curl.stdout}`);
    assert.equal(await count(), before, 'the app received nothing');
  });

  test('from another pod: a pod without a sidecar is refused, the caller sidecar originates mTLS to the callee', async () => {
    const plain = (await pods(cluster, NS, 'app=plain'))[0];
    assert.ok(plain);
    const probe = `require('tls').connect({host:'${payments.ip}',port:8443,rejectUnauthorized:false},function(){this.on('data',()=>{});this.write('GET /healthz HTTP/1.1\\r\\nhost: x\\r\\n\\r\\n');this.on('close',()=>console.log('closed'));}).on('error',e=>console.log('error',e.code||e.message))`;
    const r = await kubectl(cluster, ['exec', '-n', NS, plain.name, '-c', 'app', '--', 'node', '-e', probe]);
    assert.match(
      r.stdout,
      /error|closed/,
      `a client without a certificate from another pod: ${r.stdout} ${r.stderr}`,
    );
    assert.doesNotMatch(r.stdout, /200 OK/);

    // checkout -> its sidecar (HTTP_PROXY 127.0.0.1:15001) -> mTLS -> payments' sidecar, via a ClusterIP Service
    const svcIp = await paymentsService(cluster, NS);
    assert.match(svcIp, /^198\.19\.0\./);
    await applyJson(cluster, clientsPolicy(NS, svcIp));
    const checkout = (await readyPods(cluster, NS, 'app=checkout'))[0];
    assert.ok(checkout);
    const viaProxy = proxiedGet(svcIp, '/v1/balance', token);
    const out = await until('checkout reaching payments through both sidecars', 90_000, async () => {
      const x = await kubectl(cluster, [
        'exec',
        '-n',
        NS,
        checkout.name,
        '-c',
        'app',
        '--',
        'node',
        '-e',
        viaProxy,
      ]);
      return x.stdout.startsWith('200') ? x.stdout : undefined;
    });
    assert.match(out, new RegExp(`caller=${idOf('checkout')} sub=alice`));
  });

  test('kubectl logs of the sidecar shows the audit records; metrics are served on 15021', async () => {
    const logs = await must(cluster, ['logs', '-n', NS, payments.name, '-c', 'acp-sidecar']);
    const records = logs
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const audit = records.filter((r) => r['path'] === '/v1/balance');
    assert.ok(
      audit.some((r) => r['status'] === 200),
      'an audit record of the allowed request',
    );
    assert.ok(
      audit.some((r) => r['status'] === 401),
      'an audit record of the denial',
    );
    assert.ok(!logs.includes(token), 'the token is never logged');
    const metrics = execFileSync('curl', ['-sS', '--max-time', '5', `http://${payments.ip}:15021/metrics`], {
      encoding: 'utf8',
    });
    assert.match(metrics, /acp_sidecar_requests_total\{[^}]*\} \d+/);
  });

  test('a policy edit reaches the running sidecar without a restart (timed)', async () => {
    assert.equal((await call('checkout', '/v1/open')).status, 401, 'before the edit /v1/open needs a token');
    const t0 = Date.now();
    await applyJson(cluster, policy([{ paths: ['/v1/open'], public: true }]));
    await until('the edited policy in force in the sidecar', 180_000, async () =>
      (await call('checkout', '/v1/open')).status === 200 ? true : undefined,
    );
    note('policy edit to in force in the running sidecar', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const [now] = await pods(cluster, NS, 'app=payments');
    assert.equal(now?.name, payments.name, 'same pod');
    assert.equal(now?.restarts['acp-sidecar'], payments.restarts['acp-sidecar'], 'no sidecar restart');
  });

  test('a certificate renewal reaches the running sidecar without a restart (timed)', async () => {
    const before = await servedCertificate(payments.ip);
    const t0 = Date.now();
    await must(cluster, ['delete', 'secret', 'acp-identity-payments', '-n', NS]);
    const reissued = await until('the operator reissuing the identity', 90_000, async () => {
      const id = await readIdentity(cluster, NS, 'payments');
      return id && id.leaf.serialNumber !== before.serialNumber ? id : undefined;
    });
    note('identity Secret deleted to reissued', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await until('the sidecar serving the renewed certificate', 180_000, async () => {
      const c = await servedCertificate(payments.ip);
      return c.serialNumber === reissued.leaf.serialNumber ? true : undefined;
    });
    note(
      'certificate renewal to served by the running sidecar',
      `${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const [now] = await pods(cluster, NS, 'app=payments');
    assert.equal(now?.restarts['acp-sidecar'], payments.restarts['acp-sidecar'], 'no sidecar restart');
    assert.equal((await call('checkout', '/v1/balance', { authorization: `Bearer ${token}` })).status, 200);
  });

  test('killing the sidecar process: the kubelet restarts it, the app keeps its pod, requests resume', async () => {
    const pod = JSON.parse(await must(cluster, ['get', 'pod', payments.name, '-n', NS, '-o', 'json'])) as {
      status: {
        initContainerStatuses?: { name: string; containerID?: string; restartCount: number }[];
        containerStatuses?: { name: string; restartCount: number }[];
      };
    };
    const status = pod.status.initContainerStatuses?.find((c) => c.name === 'acp-sidecar');
    const id = (status?.containerID ?? '').replace('containerd://', '');
    assert.ok(id, 'the sidecar container id');
    const state = JSON.parse(readFileSync(join(nodeDir, 'node-state.json'), 'utf8')) as {
      binaries: { ctr: string };
      paths: { containerdSocket: string };
    };
    const tasks = execFileSync(
      state.binaries.ctr,
      ['--address', state.paths.containerdSocket, '-n', 'k8s.io', 'tasks', 'ls'],
      { encoding: 'utf8' },
    );
    const pid = Number(
      tasks
        .split('\n')
        .find((l) => l.startsWith(id))
        ?.split(/\s+/)[1],
    );
    assert.ok(pid > 0, `the sidecar's pid from containerd: ${tasks}`);
    process.kill(pid, 'SIGKILL');
    const t0 = Date.now();
    await until('the kubelet restarting the sidecar', 120_000, async () => {
      const [p] = await pods(cluster, NS, 'app=payments');
      return p &&
        p.name === payments.name &&
        (p.restarts['acp-sidecar'] ?? 0) > (status?.restartCount ?? 0) &&
        p.ready
        ? p
        : undefined;
    });
    await until('requests answered again', 60_000, async () =>
      (await call('checkout', '/v1/balance', { authorization: `Bearer ${token}` })).status === 200
        ? true
        : undefined,
    );
    note('sidecar killed to answering again', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const [p] = await pods(cluster, NS, 'app=payments');
    assert.equal(
      p?.restarts['app'],
      pod.status.containerStatuses?.find((c) => c.name === 'app')?.restartCount,
      'the app was not restarted',
    );
  });

  test("deleting the operator's leader pod: the other replica takes over and identities keep being issued", async () => {
    const lease = JSON.parse(
      await must(cluster, ['get', 'lease', 'acp-operator', '-n', RELEASE_NAMESPACE, '-o', 'json']),
    ) as {
      spec: { holderIdentity?: string };
    };
    const leader = lease.spec.holderIdentity ?? '';
    const operatorPods = await pods(cluster, RELEASE_NAMESPACE, 'app.kubernetes.io/component=operator');
    const leaderPod = operatorPods.find((p) => leader.includes(p.name));
    assert.ok(leaderPod, `the leader ${leader} is one of ${operatorPods.map((p) => p.name).join(', ')}`);
    const t0 = Date.now();
    await must(cluster, ['delete', 'pod', leaderPod.name, '-n', RELEASE_NAMESPACE, '--wait=false']);
    await newWorkloadIdentity(cluster, NS, 'late', image);
    note('leader pod deleted to a new identity issued', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const newLease = JSON.parse(
      await must(cluster, ['get', 'lease', 'acp-operator', '-n', RELEASE_NAMESPACE, '-o', 'json']),
    ) as {
      spec: { holderIdentity?: string };
    };
    assert.notEqual(newLease.spec.holderIdentity, leader, 'another replica holds the lease');
  });

  test('deleting one webhook pod while pods are being created: no creation fails', async () => {
    const hooks = await readyPods(cluster, RELEASE_NAMESPACE, 'app.kubernetes.io/component=webhook', 2);
    const victim = hooks[0];
    assert.ok(victim);
    const created: Promise<{ code: number; stderr: string }>[] = [];
    for (let i = 0; i < 12; i++) {
      if (i === 3)
        created.push(
          kubectl(cluster, ['delete', 'pod', victim.name, '-n', RELEASE_NAMESPACE, '--wait=false']),
        );
      created.push(
        kubectl(cluster, [
          'run',
          `burst-${i}`,
          '-n',
          NS,
          `--image=${image}`,
          '--image-pull-policy=Never',
          '--restart=Never',
          '--labels=burst=yes',
          '--command',
          '--',
          'node',
          '-e',
          'setTimeout(()=>{},1e9)',
        ]),
      );
      await new Promise((r) => setTimeout(r, 250));
    }
    const results = await Promise.all(created);
    const failed = results.filter((r) => r.code !== 0);
    assert.deepEqual(
      failed.map((r) => r.stderr),
      [],
      'every pod creation succeeded',
    );
    const burst = await pods(cluster, NS, 'burst=yes');
    assert.equal(burst.length, 12);
    await kubectl(cluster, ['delete', 'pods', '-n', NS, '-l', 'burst=yes', '--wait=false']);
  });
});
