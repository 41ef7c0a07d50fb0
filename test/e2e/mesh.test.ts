// End to end: the real webhook injects the sidecar into a pod, the real
// operator issues the pod's identity and compiles its policy, a local
// kubelet stand-in (test/harness/pod-runner.ts) runs the sidecar from
// those very objects, and traffic goes over real mTLS with curl and
// openssl: a permitted peer with a token reaches the app, others do not;
// a policy change and a certificate renewal reach the running sidecar
// without a restart.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { stringify } from 'yaml';
import { meshRequest, type MeshReply } from '../harness/mesh-client.ts';
import { runInjectedPod, type RunningPod } from '../harness/pod-runner.ts';
import {
  createNamespace,
  freePort,
  kubectl,
  startOperator,
  useCluster,
  type OperatorProcess,
  type TestCluster,
} from '../src/index.ts';
import {
  createWorkload,
  eventually,
  must,
  operatorEnv,
  readBundle,
  readIdentity,
} from '../integration/identity-fixtures.ts';
import { webhookFixture, type WebhookFixture } from '../integration/support/webhook-fixture.ts';

function curl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

function openssl(args: string[], input = ''): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { timeout: 10_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? 1 : 0, out: stdout + stderr }),
    );
    child.stdin?.end(input);
  });
}

describe('mesh end to end: webhook + operator + sidecar', () => {
  let cluster: TestCluster;
  let hook: WebhookFixture;
  let operator: OperatorProcess;
  let pod: RunningPod;
  let app: Server;
  let ns: string;
  const seen: { path: string; headers: Record<string, unknown> }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'acp-e2e-'));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'e2e-1', alg: 'ES256', use: 'sig' };
  let upstreamPort = 0;
  const ports = { inbound: 0, admin: 0, outbound: 0 };
  const token = (scope: string): Promise<string> =>
    new SignJWT({ scope })
      .setProtectedHeader({ alg: 'ES256', kid: 'e2e-1' })
      .setIssuer('https://idp.e2e/')
      .setAudience('payments')
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);

  // JSON, not YAML: kubectl reads YAML 1.1, where the JWK's bare `y` key would mean true.
  const policy = (rateLimit?: Record<string, unknown>): string =>
    JSON.stringify({
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name: 'payments', namespace: ns },
      spec: {
        selector: { matchLabels: { app: 'payments' } },
        upstream: { port: upstreamPort },
        mtls: { mode: 'Strict', allowedPeers: [{ namespace: ns, serviceAccount: 'checkout' }] },
        certificates: { lifetime: '1m', renewBefore: '30s' },
        jwt: {
          providers: [
            {
              name: 'e2e',
              issuer: 'https://idp.e2e/',
              audiences: ['payments'],
              jwks: { keys: [jwk] },
              algorithms: ['ES256'],
            },
          ],
          rules: [
            { paths: ['/healthz'], public: true },
            { paths: ['/v1/*'], requiredScopes: ['payments:read'] },
          ],
        },
        ...(rateLimit ? { limits: { rateLimit } } : {}),
      },
    });

  before(async () => {
    cluster = await useCluster();
    hook = await webhookFixture(cluster);
    await hook.start();
    ns = await createNamespace(cluster, 'e2e-mesh', hook.labels({ 'acp.dev/injection': 'enabled' }));
    const env = await operatorEnv(cluster, 'e2e-op');
    operator = await startOperator({
      kubeconfig: env.kubeconfig,
      namespace: env.operatorNamespace,
      watchNamespaces: [ns],
      identity: 'op-e2e',
      args: ['--cert-backdate=10s'],
    });
    upstreamPort = await freePort();
    Object.assign(ports, { inbound: await freePort(), admin: await freePort(), outbound: await freePort() });
    app = createServer((req, res) => {
      seen.push({ path: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('payments ok\n');
    });
    await new Promise<void>((r) => app.listen(upstreamPort, '127.0.0.1', r));
    await must(cluster, ['apply', '-f', '-'], policy());
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
    await createWorkload(cluster, ns, 'intruder', 'intruder-1', { role: 'client' });
    for (const sa of ['payments', 'checkout', 'intruder'])
      await eventually(`identity ${sa}`, () => readIdentity(cluster, ns, sa));
    const bundle = await eventually('bundle', () => readBundle(cluster, ns));
    writeFileSync(join(dir, 'ca.crt'), bundle);
    for (const sa of ['checkout', 'intruder']) {
      const id = (await readIdentity(cluster, ns, sa))!;
      writeFileSync(join(dir, `${sa}.crt`), id.certPem);
      writeFileSync(join(dir, `${sa}.key`), id.keyPem);
    }
    await eventually('the payments policy to compile', async () => {
      const c = await kubectl(cluster, ['get', 'configmap', 'acp-config-payments', '-n', ns]);
      if (c.code === 0) return true;
      const status = await kubectl(cluster, [
        'get',
        'acp',
        'payments',
        '-n',
        ns,
        '-o',
        'jsonpath={.status.conditions}',
      ]);
      throw new Error(status.stdout);
    });
    pod = await runInjectedPod(cluster, ns, 'payments-1', ports, { syncMs: 500 });
  });
  after(async () => {
    await pod?.stop();
    await operator?.stop();
    await hook?.cleanup();
    await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
  });

  const payments = (): string => `spiffe://cluster.local/ns/${ns}/sa/payments`;
  const call = (
    as: string | undefined,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<MeshReply> =>
    meshRequest({ port: ports.inbound, path, dir, as: as ?? null, expect: payments(), headers });
  const bearer = async (scope: string): Promise<Record<string, string>> => ({
    authorization: `Bearer ${await token(scope)}`,
  });

  it('was injected by the webhook and runs the operator-compiled config', async () => {
    const stored = JSON.parse(await must(cluster, ['get', 'pod', 'payments-1', '-n', ns, '-o', 'json'])) as {
      metadata: { annotations: Record<string, string> };
    };
    assert.match(stored.metadata.annotations['acp.dev/status'] ?? '', /"policy":"payments"/);
    const health = await call('checkout', '/healthz');
    assert.equal(health.status, 200, health.error ?? health.body);
  });

  it('lets the allowed peer with a scoped token through, telling the app who called', async () => {
    const before = seen.length;
    const r = await call('checkout', '/v1/balance', await bearer('payments:read'));
    assert.equal(r.status, 200, r.error ?? r.body);
    assert.equal(r.body, 'payments ok\n');
    const got = seen[before]!;
    assert.equal(got.headers['x-acp-peer-id'], `spiffe://cluster.local/ns/${ns}/sa/checkout`);
  });

  it('refuses a caller without a client certificate at the handshake (curl), and the app sees nothing', async () => {
    const before = seen.length;
    const r = await curl(['-k', `https://127.0.0.1:${ports.inbound}/healthz`]);
    assert.notEqual(r.code, 0, r.out);
    assert.equal((await call(undefined, '/healthz')).status, 0);
    assert.equal(seen.length, before);
  });

  it('refuses a mesh identity that is not an allowed peer with 403', async () => {
    const before = seen.length;
    const r = await call('intruder', '/v1/balance', await bearer('payments:read'));
    assert.equal(r.status, 403, r.error ?? r.body);
    assert.equal(seen.length, before);
  });

  it('refuses a missing token with 401 and a token without the scope with 403', async () => {
    assert.equal((await call('checkout', '/v1/balance')).status, 401);
    assert.equal((await call('checkout', '/v1/balance', await bearer('other'))).status, 403);
  });

  it('presents a certificate that verifies against the trust bundle (openssl s_client -verify_return_error)', async () => {
    const r = await openssl([
      's_client',
      '-connect',
      `127.0.0.1:${ports.inbound}`,
      '-verify_return_error',
      '-CAfile',
      join(dir, 'ca.crt'),
      '-cert',
      join(dir, 'checkout.crt'),
      '-key',
      join(dir, 'checkout.key'),
    ]);
    assert.match(r.out, /Verify return code: 0 \(ok\)/);
    assert.match(r.out, /New, TLSv1\.3, Cipher is TLS_AES_256_GCM_SHA384/);
  });

  it('refuses TLS 1.1 (openssl s_client)', async () => {
    const r = await openssl([
      's_client',
      '-connect',
      `127.0.0.1:${ports.inbound}`,
      '-tls1_1',
      '-cert',
      join(dir, 'checkout.crt'),
      '-key',
      join(dir, 'checkout.key'),
    ]);
    assert.notEqual(r.code, 0);
  });

  it('applies a policy change to the running sidecar without a restart (rate limit 1/s)', async () => {
    const pid = pod.process.pid;
    await must(cluster, ['apply', '-f', '-'], policy({ requestsPerSecond: 1, burst: 1, by: 'Identity' }));
    const limited = await eventually(
      'a 429 from the new rate limit',
      async () => {
        const codes: number[] = [];
        for (let i = 0; i < 3; i++) codes.push((await call('checkout', '/healthz')).status);
        return codes.includes(429) ? codes : undefined;
      },
      30_000,
      500,
    );
    assert.ok(limited.includes(429));
    assert.equal(pod.process.pid, pid);
    assert.equal(pod.process.exitCode, null, 'the same sidecar process');
  });

  it('serves the renewed certificate after the operator rotates it, without a restart', async () => {
    const serial = async (): Promise<string> => {
      const r = await openssl([
        's_client',
        '-connect',
        `127.0.0.1:${ports.inbound}`,
        '-cert',
        join(dir, 'checkout.crt'),
        '-key',
        join(dir, 'checkout.key'),
        '-CAfile',
        join(dir, 'ca.crt'),
      ]);
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.out)?.[0] ?? '';
      const text = await openssl(['x509', '-noout', '-serial'], pem);
      return text.out.trim();
    };
    const first = await serial();
    assert.match(first, /^serial=/);
    const renewed = await eventually(
      'a renewed serving certificate',
      async () => {
        const s = await serial();
        return s !== first && s.startsWith('serial=') ? s : undefined;
      },
      90_000,
      2000,
    );
    assert.notEqual(renewed, first);
    assert.equal(pod.process.exitCode, null, 'no restart for a new certificate');
  });
});
