// `npm run demo`: the product on a real Kubernetes node, as a user runs it.
// Builds the product image (`npm run image`), starts etcd + kube-apiserver
// and a real node (kubelet, containerd, CNI, controller-manager, scheduler,
// kube-proxy; test/harness/node/), `helm install`s the chart with that image,
// opts a namespace in, applies a policy, deploys a callee (payments) and a
// caller (checkout), sends requests over mTLS from the host and from the
// caller's pod, shows `kubectl get acp`, prints what to try, and stays up
// until Ctrl-C (then removes everything it created).
// `--check`: the same without waiting; one line per step, exit 0 only when
// every step held. When ACP_TEST_NODE_DIR names a running node (the test
// command's real-node phase), the demo uses it instead of starting one.
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../scripts/image.ts';
import { ensureBinaries } from '../harness/binaries.ts';
import { kubectl, useCluster } from '../harness/cluster.ts';
import { meshRequest } from '../harness/mesh-client.ts';
import { startRealCluster, stopRealCluster, type RealNodeState } from '../harness/node/node.ts';
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
  installChart,
  readyPods,
  RELEASE_NAMESPACE,
  until,
} from '../harness/node/product.ts';

const check = process.argv.includes('--check');
const home = process.env['ACP_DEMO_DIR'] ?? join(homedir(), '.cache', 'acp', 'demo');
const NS = process.env['ACP_DEMO_NAMESPACE'] ?? 'demo-shop';
const say = (s: string): boolean => process.stdout.write(`${s}\n`);
const t0 = Date.now();
let failures = 0;
let node: RealNodeState | undefined;

/** Runs one step; prints `ok|FAIL  <step> (<seconds>s)  <detail>`. A failed step ends the demo. */
async function step<T>(
  name: string,
  fn: () => Promise<T> | T,
  detail: (v: T) => string = () => '',
): Promise<T> {
  const s = Date.now();
  try {
    const v = await fn();
    say(`ok    ${name.padEnd(66)} ${((Date.now() - s) / 1000).toFixed(1).padStart(6)}s  ${detail(v)}`);
    return v;
  } catch (e) {
    failures++;
    say(
      `FAIL  ${name.padEnd(66)} ${((Date.now() - s) / 1000).toFixed(1).padStart(6)}s  ${(e as Error).message}`,
    );
    throw e;
  }
}

function teardown(): void {
  if (node) stopRealCluster(node);
  node = undefined;
}

async function main(): Promise<void> {
  mkdirSync(home, { recursive: true });
  const image = await step(
    'build the product image (npm run image)',
    () => buildImage(),
    (r) => `${r.name} ${r.digest.slice(0, 19)}… ${(r.layerBytes / 1048576).toFixed(0)} MiB`,
  );
  if (!process.env['ACP_TEST_NODE_DIR']) {
    const binaries = await step(
      'build or reuse the control-plane binaries',
      () => ensureBinaries(),
      (b) => b.dir,
    );
    node = await step(
      'start etcd, kube-apiserver and a real node (kubelet, containerd, CNI)',
      () => startRealCluster({ dir: join(home, 'cluster'), binaries, ownerPid: process.pid }),
      (n) => `node Ready ${n.timings['node Ready']?.toFixed(1)}s after start`,
    );
    const cp = node.controlPlane;
    if (!cp) throw new Error('no control plane');
    Object.assign(process.env, {
      ACP_TEST_KUBECONFIG: cp.kubeconfig,
      ACP_TEST_BIN_DIR: binaries.dir,
      ACP_TEST_SERVER: cp.server,
    });
  }
  const cluster = await useCluster();
  await step(
    `helm install acp charts/api-compliance-operator -n ${RELEASE_NAMESPACE}`,
    () => installChart(cluster, image.name),
    () => 'operator and webhook Available, 2 replicas each',
  );

  const issuer = testIssuer();
  const jwk = issuer.jwk;
  const svcIp = await step(
    `namespace ${NS} (acp.dev/injection=enabled), policies payments and clients, Service payments`,
    async () => {
      await injectedNamespace(cluster, NS, ['payments', 'checkout']);
      await applyJson(cluster, paymentsPolicy(NS, jwk));
      const ip = await paymentsService(cluster, NS);
      await applyJson(cluster, clientsPolicy(NS, ip));
      return ip;
    },
    (ip) => `ClusterIP ${ip}`,
  );
  const [payments, checkout] = await step(
    'deploy payments (callee) and checkout (caller); pods Ready with the sidecar',
    async () => {
      await deployApp(cluster, {
        namespace: NS,
        name: 'payments',
        serviceAccount: 'payments',
        labels: { app: 'payments' },
        image: image.name,
      });
      await deployApp(cluster, {
        namespace: NS,
        name: 'checkout',
        serviceAccount: 'checkout',
        labels: { app: 'checkout', role: 'client' },
        image: image.name,
      });
      const p = (await readyPods(cluster, NS, 'app=payments'))[0];
      const c = (await readyPods(cluster, NS, 'app=checkout'))[0];
      if (!p || !c) throw new Error('pods missing');
      return [p, c] as const;
    },
    ([p, c]) => `${p.name} ${p.ip}, ${c.name} ${c.ip}`,
  );

  const client = join(home, 'client');
  mkdirSync(client, { recursive: true });
  const token = await issuer.sign('payments:read', '12h');
  writeFileSync(join(client, 'token'), token);
  await step(
    'the operator issued checkout its SPIFFE identity; trust bundle written',
    () => writeClientIdentity(cluster, NS, 'checkout', client, 'tls'),
    (san) => san,
  );

  const target = `spiffe://cluster.local/ns/${NS}/sa/payments`;
  const req = (path: string, headers: Record<string, string>, as?: null) =>
    meshRequest({
      host: payments.ip,
      port: 8443,
      path,
      dir: client,
      expect: target,
      headers,
      ...(as === null ? { as } : {}),
    });
  await step(
    'host -> payments pod IP as checkout with a token: 200',
    async () => {
      const r = await until('200', 60_000, async () => {
        const x = await req('/v1/balance', { authorization: `Bearer ${token}` });
        return x.status === 200 ? x : undefined;
      });
      return r.body.trim();
    },
    (b) => b,
  );
  await step(
    'host -> payments without a token: 401',
    async () => {
      const r = await req('/v1/balance', {});
      if (r.status !== 401) throw new Error(`got ${r.status} ${r.body}`);
      return r.body.trim().slice(0, 80);
    },
    (b) => b,
  );
  await step(
    'host -> payments without a client certificate: handshake refused',
    async () => {
      const r = await req('/v1/balance', { authorization: `Bearer ${token}` }, null);
      if (r.status !== 0) throw new Error(`got ${r.status}`);
      return r.error ?? '';
    },
    (e) => e.slice(0, 80),
  );
  await step(
    'checkout pod -> its sidecar -> mTLS -> payments sidecar: 200',
    async () => {
      const js = proxiedGet(svcIp, '/v1/balance', token);
      return until('200 through both sidecars', 90_000, async () => {
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
          js,
        ]);
        return x.stdout.startsWith('200') ? x.stdout.trim() : undefined;
      });
    },
    (s) => s,
  );
  const acp = await step(
    'kubectl get acp: Ready and Compliant',
    async () => {
      const out = await until('Ready', 90_000, async () => {
        const o = await must(cluster, ['get', 'acp', '-n', NS]);
        return /payments\s+True\s+True/.test(o) ? o : undefined;
      });
      return out;
    },
    () => '',
  );
  say(`\n${acp.trimEnd()}`);

  const kc = process.env['ACP_TEST_KUBECONFIG'] ?? '';
  say(`\ntry it yourself:
  export KUBECONFIG=${kc} PATH=${process.env['ACP_TEST_BIN_DIR'] ?? ''}:$PATH
  kubectl get pods -A -o wide; kubectl get acp -n ${NS}; kubectl describe acp payments -n ${NS}; kubectl get events -n ${NS}
  kubectl logs -n ${NS} ${payments.name} -c acp-sidecar      # the sidecar's audit records (one JSON line per decision)
  curl -s http://${payments.ip}:15021/metrics | grep acp_sidecar_requests_total
  curl -sk --cert ${client}/tls.crt --key ${client}/tls.key -H "authorization: Bearer $(cat ${client}/token)" https://${payments.ip}:8443/v1/balance
      (-k: workload certificates name a SPIFFE ID, not a host; verify the chain with:
       openssl s_client -connect ${payments.ip}:8443 -verify_return_error -CAfile ${client}/ca.crt -cert ${client}/tls.crt -key ${client}/tls.key)
  kubectl exec -n ${NS} ${checkout.name} -c app -- node -e "require('http').get({host:'127.0.0.1',port:15001,path:'http://${svcIp}:8443/v1/balance',headers:{authorization:'Bearer '+process.argv[1]}},r=>r.pipe(process.stdout))" "$(cat ${client}/token)"`);
  say(`\ndemo: every step held in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    say('\nstopping: removing the node and everything it created');
    teardown();
    process.exit(0);
  });
}

main().then(
  () => {
    if (check) {
      teardown();
      process.exit(0);
    }
    say('\nrunning; Ctrl-C stops everything');
  },
  (e: unknown) => {
    if (failures === 0)
      process.stderr.write(`demo failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    teardown();
    process.exit(1);
  },
);
