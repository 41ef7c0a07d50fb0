// `npm run demo`: the product running locally, end to end. Starts a real
// control plane (etcd + kube-apiserver), the CRD, the operator (process,
// chart RBAC) and the webhook (chart configurations on 127.0.0.1), applies
// two policies, creates pods that the webhook injects, runs the injected
// payments pod's sidecar through the local kubelet stand-in in front of a
// small app, makes a few requests over mTLS, and prints what to try next.
// Stays up until Ctrl-C; `--once` stops after the requests (used by a test).
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { stringify } from 'yaml';
import { ensureBinaries } from '../harness/binaries.ts';
import { startControlPlane, stopControlPlane } from '../harness/controlplane.ts';
import { applyCrd } from '../harness/crd.ts';
import { runInjectedPod } from '../harness/pod-runner.ts';
import { freePort } from '../harness/ports.ts';
import { startOperator } from '../harness/operator.ts';
import { useCluster, kubectl } from '../harness/cluster.ts';
import {
  createWorkload,
  eventually,
  must,
  operatorEnv,
  readBundle,
  readIdentity,
} from '../integration/identity-fixtures.ts';
import { webhookFixture } from '../integration/support/webhook-fixture.ts';
import { meshRequest } from '../harness/mesh-client.ts';

const once = process.argv.includes('--once');
const home = process.env['ACP_DEMO_DIR'] ?? join(homedir(), '.cache', 'acp', 'demo');
const say = (s: string): boolean => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  say('acp demo: building or reusing the control-plane binaries (a first build takes ~9 minutes)');
  const binaries = ensureBinaries();
  const state = await startControlPlane({ dir: join(home, 'cluster'), binaries, ownerPid: process.pid });
  applyCrd(state.kubeconfig, binaries.kubectl);
  process.env['ACP_TEST_KUBECONFIG'] = state.kubeconfig;
  process.env['ACP_TEST_BIN_DIR'] = binaries.dir;
  process.env['ACP_TEST_SERVER'] = state.server;
  const cluster = await useCluster();
  say(`control plane up at ${state.server} in ${state.startSeconds.toFixed(1)} s`);

  const hook = await webhookFixture(cluster);
  await hook.start();
  const env = await operatorEnv(cluster, 'shop');
  const ns = env.workloadNamespace;
  await must(cluster, [
    'label',
    'namespace',
    ns,
    'acp.dev/injection=enabled',
    `${Object.keys(hook.labels())[0] ?? ''}=${hook.scope}`,
    '--overwrite',
  ]);
  const operator = await startOperator({
    kubeconfig: env.kubeconfig,
    namespace: env.operatorNamespace,
    watchNamespaces: [ns],
    identity: 'demo-operator',
  });
  say(`operator and webhook running; workloads go to namespace ${ns}`);

  const upstreamPort = await freePort();
  const app = createServer((req, res) =>
    res
      .writeHead(200, { 'content-type': 'text/plain' })
      .end(
        `hello from payments: ${req.method ?? ''} ${req.url ?? ''}, caller ${String(req.headers['x-acp-peer-id'] ?? 'unknown')}\n`,
      ),
  );
  await new Promise<void>((r) => app.listen(upstreamPort, '127.0.0.1', r));

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'demo-1', alg: 'ES256', use: 'sig' };
  // JSON, not YAML: kubectl reads YAML 1.1, where the JWK's bare `y` key would mean true.
  await must(
    cluster,
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name: 'payments', namespace: ns },
      spec: {
        selector: { matchLabels: { app: 'payments' } },
        profiles: ['PCI-DSS-4.0'],
        upstream: { port: upstreamPort },
        mtls: { mode: 'Strict', allowedPeers: [{ namespace: ns, serviceAccount: 'checkout' }] },
        jwt: {
          providers: [
            {
              name: 'demo',
              issuer: 'https://idp.demo/',
              audiences: ['payments'],
              jwks: { keys: [jwk] },
              algorithms: ['ES256'],
              requiredClaims: ['exp', 'sub'],
            },
          ],
          rules: [
            { paths: ['/healthz'], public: true },
            { paths: ['/v1/*'], requiredScopes: ['payments:read'] },
          ],
        },
        limits: { rateLimit: { requestsPerSecond: 50, burst: 100 } },
      },
    }),
  );
  await must(
    cluster,
    ['apply', '-f', '-'],
    stringify({
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name: 'clients', namespace: ns },
      spec: { selector: { matchLabels: { role: 'client' } }, upstream: { port: 8080 } },
    }),
  );
  await createWorkload(cluster, ns, 'payments', 'payments-1', { app: 'payments' });
  await createWorkload(cluster, ns, 'checkout', 'checkout-1', { role: 'client' });
  const client = join(home, 'client');
  mkdirSync(client, { recursive: true });
  const id = await eventually('the checkout identity', () => readIdentity(cluster, ns, 'checkout'), 60_000);
  writeFileSync(join(client, 'tls.crt'), id.certPem);
  writeFileSync(join(client, 'tls.key'), id.keyPem, { mode: 0o600 });
  writeFileSync(join(client, 'ca.crt'), await eventually('the trust bundle', () => readBundle(cluster, ns)));
  const token = await new SignJWT({ scope: 'payments:read' })
    .setProtectedHeader({ alg: 'ES256', kid: 'demo-1' })
    .setIssuer('https://idp.demo/')
    .setAudience('payments')
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(privateKey);
  writeFileSync(join(client, 'token'), token);
  await eventually(
    'the compiled payments config',
    async () =>
      (await kubectl(cluster, ['get', 'configmap', 'acp-config-payments', '-n', ns])).code === 0
        ? true
        : undefined,
    60_000,
  );

  const ports = { inbound: await freePort(), admin: await freePort(), outbound: await freePort() };
  const sidecarLog = join(home, 'payments-1.sidecar.log');
  writeFileSync(sidecarLog, '');
  const sidecar = await runInjectedPod(cluster, ns, 'payments-1', ports, { logFile: sidecarLog });
  say(
    `payments-1 was injected by the webhook; its sidecar runs on 127.0.0.1:${ports.inbound} (admin ${ports.admin})\n`,
  );

  const target = `spiffe://cluster.local/ns/${ns}/sa/payments`;
  const show = async (label: string, headers: Record<string, string>, path: string): Promise<number> => {
    const r = await meshRequest({ port: ports.inbound, path, dir: client, expect: target, headers });
    say(`  ${label.padEnd(44)} -> ${r.status || r.error} ${r.body.trim().slice(0, 90)}`);
    return r.status;
  };
  say('requests as spiffe://…/sa/checkout over mTLS (server identity checked by its SPIFFE ID):');
  const ok = await show(
    'GET /v1/balance with a payments:read token',
    { authorization: `Bearer ${token}` },
    '/v1/balance',
  );
  await show('GET /v1/balance without a token', {}, '/v1/balance');
  await show('GET /healthz (public path)', {}, '/healthz');
  say('');
  say((await must(cluster, ['get', 'acp', '-n', ns])).trimEnd());
  say(`\ntry it yourself:
  export KUBECONFIG=${state.kubeconfig} PATH=${binaries.dir}:$PATH
  kubectl get acp -n ${ns}; kubectl describe acp payments -n ${ns}; kubectl get events -n ${ns}
  kubectl get acp payments -n ${ns} -o yaml | npx acp check -f -
  curl -sk --cert ${client}/tls.crt --key ${client}/tls.key -H "authorization: Bearer $(cat ${client}/token)" https://127.0.0.1:${ports.inbound}/v1/balance
      (-k: workload certificates name a SPIFFE ID, not a host; verify the chain with:
       openssl s_client -connect 127.0.0.1:${ports.inbound} -verify_return_error -CAfile ${client}/ca.crt -cert ${client}/tls.crt -key ${client}/tls.key)
  curl -s http://127.0.0.1:${ports.admin}/metrics | grep acp_sidecar_requests_total
  tail -f ${sidecarLog}      # the sidecar's audit records (one JSON line per decision)
  ls -la ${sidecar.dir}/*     # its volumes, written from the real Secret and ConfigMaps`);

  const stop = async (): Promise<void> => {
    await sidecar.stop();
    await operator.stop();
    await hook.cleanup();
    app.close();
    stopControlPlane(state);
  };
  if (once) {
    await stop();
    process.exit(ok === 200 ? 0 : 1);
  }
  say('\nrunning; Ctrl-C stops everything');
  process.on('SIGINT', () => void stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
