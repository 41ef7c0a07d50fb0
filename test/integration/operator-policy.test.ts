// Policy reconciliation on a real control plane, the operator running as a
// process under the chart's RBAC: examples compile into ConfigMaps and
// NetworkPolicies, status and `kubectl get acp` tell the truth, JWKS keys
// are fetched from a real https endpoint and survive its failures, a
// conflict names the winner, an update changes the config and
// observedGeneration, an unenforceable spec keeps the previous config,
// and deleting a policy removes what it created.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { configHash, validateSidecarConfig } from '@acp/crds';
import { kubectl, startOperator, useCluster, type OperatorProcess, type TestCluster } from '../src/index.ts';
import {
  createWorkload,
  eventReasons,
  eventually,
  must,
  operatorEnv,
  policyCondition,
  type OperatorEnv,
} from './identity-fixtures.ts';
import { startJwksServer, type JwksServer } from './jwks-server.ts';

const examples = join(import.meta.dirname, '..', '..', 'crds', 'examples');
const acpMain = join(import.meta.dirname, '..', '..', 'operator', 'src', 'cli', 'main.ts');

function runAcp(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [acpMain, ...args], (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function configOf(
  cluster: TestCluster,
  ns: string,
  policy: string,
): Promise<{ json: Record<string, any>; hash: string } | undefined> {
  const r = await kubectl(cluster, ['get', 'configmap', `acp-config-${policy}`, '-n', ns, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const cm = JSON.parse(r.stdout) as {
    data: Record<string, string>;
    metadata: { annotations: Record<string, string> };
  };
  return {
    json: JSON.parse(cm.data['sidecar.json'] ?? '{}') as Record<string, any>,
    hash: cm.metadata.annotations['acp.dev/config-hash'] ?? '',
  };
}

async function statusOf(cluster: TestCluster, ns: string, policy: string): Promise<Record<string, any>> {
  return (
    (
      JSON.parse(await must(cluster, ['get', 'acp', policy, '-n', ns, '-o', 'json'])) as {
        status?: Record<string, any>;
      }
    ).status ?? {}
  );
}

async function conditionIs(
  cluster: TestCluster,
  ns: string,
  policy: string,
  want: { type: string; status: string; reason?: string },
) {
  return eventually(
    `${policy} ${want.type}=${want.status}${want.reason ? `/${want.reason}` : ''}`,
    async () => {
      const c = await policyCondition(cluster, ns, policy, want.type);
      return c?.status === want.status && (!want.reason || c.reason === want.reason) ? c : undefined;
    },
    60_000,
    300,
  );
}

function policyYaml(name: string, spec: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name },
    spec,
  });
}

describe('operator: policy reconciliation', () => {
  let cluster: TestCluster;
  let env: OperatorEnv;
  let operator: OperatorProcess;
  let idp: JwksServer;
  let ns: string;

  before(async () => {
    cluster = await useCluster();
    env = await operatorEnv(cluster, 'policy');
    ns = env.workloadNamespace;
    idp = await startJwksServer();
    operator = await startOperator({
      kubeconfig: env.kubeconfig,
      namespace: env.operatorNamespace,
      watchNamespaces: [ns],
      identity: 'op-policy',
      args: [`--jwks-ca-file=${idp.caFile}`, '--jwks-timeout=2s', '--jwks-max-bytes=65536'],
    });
  });
  after(async () => {
    await operator?.stop();
    await idp?.close();
  });

  it('compiles the PCI-DSS example into a valid sidecar config, a NetworkPolicy and a Ready, Compliant status', async () => {
    await must(cluster, ['apply', '-n', ns, '-f', join(examples, 'pci-dss-payments.yaml')]);
    await conditionIs(cluster, ns, 'payments', { type: 'Ready', status: 'True', reason: 'InForce' });
    const cfg = (await configOf(cluster, ns, 'payments'))!;
    const valid = validateSidecarConfig(cfg.json);
    assert.equal(valid.ok, true, JSON.stringify(valid.ok ? null : valid.errors));
    assert.match(cfg.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(cfg.json['mtls'].allowedPeers, [
      'spiffe://cluster.local/ns/shop/sa/checkout',
      'spiffe://cluster.local/ns/shop/sa/refunds',
    ]);
    assert.equal(cfg.json['limits'].maxRequestBytes, 2 * 1024 * 1024);
    const np = JSON.parse(
      await must(cluster, ['get', 'networkpolicy', 'acp-policy-payments', '-n', ns, '-o', 'json']),
    ) as { spec: { podSelector: unknown; ingress: { ports: { port: number }[]; from?: unknown }[] } };
    assert.deepEqual(np.spec.podSelector, { matchLabels: { app: 'payments' } });
    assert.deepEqual(
      np.spec.ingress.map((r) => r.ports[0]?.port),
      [8443, 15021],
    );
    // The TLS port is open to all (mTLS decides); the admin port (/metrics, /config) only to the
    // monitoring namespaces (--monitoring-namespace-selector, default kubernetes.io/metadata.name=monitoring)
    // and the operator's own (its prober reads /config).
    assert.equal(np.spec.ingress[0]?.from, undefined);
    assert.deepEqual(np.spec.ingress[1]?.from, [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': env.operatorNamespace } } },
    ]);
    // Every sidecar refuses the operator's prober (its handshakes are evidence, its requests never reach an app).
    assert.deepEqual(cfg.json['mtls'].probePeers, [
      `spiffe://cluster.local/ns/${env.operatorNamespace}/sa/acp-prober`,
    ]);
    // `acp compile` on the applied object (`kubectl get acp -o yaml`: it carries the uid and
    // generation the config names) prints the config the operator wrote, so its hash too.
    const tmp = mkdtempSync(join(tmpdir(), 'acp-compile-'));
    const applied = join(tmp, 'payments-applied.yaml');
    writeFileSync(applied, await must(cluster, ['get', 'acp', 'payments', '-n', ns, '-o', 'yaml']));
    const cli = await runAcp(['compile', '-f', applied, '--operator-namespace', env.operatorNamespace]);
    rmSync(tmp, { recursive: true, force: true });
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(JSON.parse(cli.stdout), cfg.json, 'acp compile = the ConfigMap');
    assert.equal(configHash(JSON.parse(cli.stdout)), cfg.hash, 'acp compile hashes as the operator');
    const status = await statusOf(cluster, ns, 'payments');
    assert.equal(status['observedGeneration'], 1);
    assert.deepEqual(status['conditions'].map((c: { type: string }) => c.type).sort(), [
      'CertificatesReady',
      'Compliant',
      'ConfigReady',
      'JWKSReady',
      'Ready',
      'Verified',
    ]);
    for (const c of status['conditions']) assert.equal(c.observedGeneration, 1);
    assert.ok(status['compliance'].controls.length > 0);
    assert.equal(status['compliance'].profiles[0].name, 'PCI-DSS-4.0');
    assert.equal(status['config'].hash, cfg.hash);
    const table = await must(cluster, ['get', 'acp', 'payments', '-n', ns]);
    // Verified: Unknown, no pod to measure yet.
    assert.match(table, /payments\s+True\s+True\s+Unknown\s+Enforce\s+0\/0/);
    assert.match(
      await operator.metrics(),
      new RegExp(
        `acp_operator_policy_compliant\\{namespace="${ns}",policy="payments",profile="PCI-DSS-4.0"\\} 1`,
      ),
    );
  });

  it('counts selected and injected workloads (only the marked sidecar counts as injected)', async () => {
    await createWorkload(cluster, ns, 'payments', 'payments-1', { app: 'payments' });
    const withInit = (name: string, sidecar: Record<string, unknown>): string =>
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns, labels: { app: 'payments' } },
        spec: {
          serviceAccountName: 'payments',
          initContainers: [{ name: 'acp-sidecar', image: 'x', restartPolicy: 'Always', ...sidecar }],
          containers: [{ name: 'app', image: 'x' }],
        },
      });
    // As the webhook injects it: marked with ACP_INJECTED_BY.
    await must(
      cluster,
      ['apply', '-f', '-'],
      withInit('payments-2', { env: [{ name: 'ACP_INJECTED_BY', value: 'acp-webhook' }] }),
    );
    // The pod's own container that merely has the sidecar's name.
    await must(cluster, ['apply', '-f', '-'], withInit('payments-3', {}));
    const w = await eventually('workloads 1/3', async () => {
      const s = await statusOf(cluster, ns, 'payments');
      return s['workloads']?.summary === '1/3' ? s['workloads'] : undefined;
    });
    assert.equal(w.selected, 3);
    assert.equal(w.serviceAccounts, 1);
    await conditionIs(cluster, ns, 'payments', {
      type: 'CertificatesReady',
      status: 'True',
      reason: 'Issued',
    });
  });

  it('changes the config and observedGeneration when the policy is updated, with a ConfigUpdated event', async () => {
    const before = (await configOf(cluster, ns, 'payments'))!;
    const doc = parse(readFileSync(join(examples, 'pci-dss-payments.yaml'), 'utf8')) as {
      spec: Record<string, any>;
    };
    doc.spec['limits'].rateLimit.requestsPerSecond = 7;
    // JSON, not YAML: kubectl reads YAML 1.1, where a bare `y` key (an EC JWK member) means true.
    await must(cluster, ['apply', '-n', ns, '-f', '-'], JSON.stringify(doc));
    const after = await eventually('the new config', async () => {
      const c = await configOf(cluster, ns, 'payments');
      return c && c.hash !== before.hash ? c : undefined;
    });
    assert.equal(after.json['limits'].rateLimit.requestsPerSecond, 7);
    await eventually('observedGeneration 2', async () =>
      (await statusOf(cluster, ns, 'payments'))['observedGeneration'] === 2 ? true : undefined,
    );
    assert.ok((await eventReasons(cluster, ns)).some((e) => e.reason === 'ConfigUpdated'));
  });

  it('refuses an unenforceable spec as InvalidSpec naming the field, and keeps the previous config in force', async () => {
    const before = (await configOf(cluster, ns, 'payments'))!;
    const doc = parse(readFileSync(join(examples, 'pci-dss-payments.yaml'), 'utf8')) as {
      spec: Record<string, any>;
    };
    doc.spec['jwt'].providers[0].forwardClaims = [{ claim: 'sub', header: 'x-forwarded-for' }];
    // JSON, not YAML: kubectl reads YAML 1.1, where a bare `y` key (an EC JWK member) means true.
    await must(cluster, ['apply', '-n', ns, '-f', '-'], JSON.stringify(doc));
    const c = await conditionIs(cluster, ns, 'payments', {
      type: 'Ready',
      status: 'False',
      reason: 'InvalidSpec',
    });
    assert.match(c.message, /spec\.jwt\.providers\[0\]\.forwardClaims\[0\]\.header/);
    const cfg = await policyCondition(cluster, ns, 'payments', 'ConfigReady');
    assert.match(cfg!.message, /previously compiled configuration stays in force/);
    assert.equal((await configOf(cluster, ns, 'payments'))!.hash, before.hash, 'nothing half-applied');
    assert.ok(
      (await eventReasons(cluster, ns)).some((e) => e.reason === 'InvalidSpec' && e.type === 'Warning'),
    );
    await must(cluster, ['apply', '-n', ns, '-f', join(examples, 'pci-dss-payments.yaml')]);
    await conditionIs(cluster, ns, 'payments', { type: 'ConfigReady', status: 'True' });
  });

  it('gives the younger of two policies selecting the same pod Ready=False/Conflict naming the winner', async () => {
    await must(
      cluster,
      ['apply', '-n', ns, '-f', '-'],
      policyYaml('payments-shadow', {
        selector: { matchLabels: { app: 'payments' } },
        upstream: { port: 9090 },
      }),
    );
    const c = await conditionIs(cluster, ns, 'payments-shadow', {
      type: 'Ready',
      status: 'False',
      reason: 'Conflict',
    });
    assert.match(c.message, /governed by policy payments/);
    assert.equal(
      (await policyCondition(cluster, ns, 'payments', 'Ready'))?.reason,
      'InForce',
      'the winner is unaffected',
    );
    assert.ok(
      (await eventReasons(cluster, ns)).some(
        (e) => e.reason === 'Conflict' && e.regarding === 'ApiCompliancePolicy/payments-shadow',
      ),
    );
    await must(cluster, ['delete', 'acp', 'payments-shadow', '-n', ns]);
  });

  it('fetches JWKS keys, embeds them, shows the key ids, and follows a key rotation', async () => {
    const uri = idp.url('/rotating/jwks.json');
    await must(
      cluster,
      ['apply', '-n', ns, '-f', '-'],
      policyYaml('remote', {
        selector: { matchLabels: { app: 'remote' } },
        upstream: { port: 8080 },
        jwt: {
          providers: [
            {
              name: 'idp',
              issuer: 'https://idp.test/',
              audiences: ['api'],
              jwksUri: uri,
              jwksRefreshSeconds: 30,
              algorithms: ['ES256'],
            },
          ],
        },
      }),
    );
    await conditionIs(cluster, ns, 'remote', { type: 'JWKSReady', status: 'True', reason: 'KeysFetched' });
    const first = idp.kid();
    assert.equal((await configOf(cluster, ns, 'remote'))!.json['jwt'].providers[0].jwks.keys[0].kid, first);
    const entry = (await statusOf(cluster, ns, 'remote'))['jwks'].providers[0];
    assert.deepEqual(entry.keyIds, [first]);
    assert.ok(entry.lastSuccessfulFetch);
    const next = idp.rotate();
    await eventually(
      'the rotated key in the config',
      async () =>
        (await configOf(cluster, ns, 'remote'))?.json['jwt'].providers[0].jwks.keys[0].kid === next
          ? true
          : undefined,
      60_000,
      1000,
    );
  });

  it('keeps the last good keys when the identity provider fails, says why, and counts it', async () => {
    const path = '/rotating/jwks.json';
    const kid = idp.kid();
    idp.setMode(path, 'fail');
    const c = await conditionIs(cluster, ns, 'remote', {
      type: 'JWKSReady',
      status: 'False',
      reason: 'FetchFailed',
    });
    assert.match(c.message, /HTTP 500/);
    assert.match(c.message, /last good keys stay in force/);
    assert.equal((await configOf(cluster, ns, 'remote'))!.json['jwt'].providers[0].jwks.keys[0].kid, kid);
    assert.equal((await policyCondition(cluster, ns, 'remote', 'Ready'))?.status, 'True', 'still in force');
    assert.ok(
      (await eventReasons(cluster, ns)).some((e) => e.reason === 'JWKSFetchFailed' && e.type === 'Warning'),
    );
    assert.match(
      await operator.metrics(),
      /acp_operator_jwks_fetches_total\{uri="[^"]+",result="failure",code="ACP_ERR_JWKS_HTTP_STATUS"\} [1-9]/,
    );
    assert.equal(
      (await statusOf(cluster, ns, 'remote'))['jwks'].providers[0].lastError.includes('HTTP 500'),
      true,
    );
  });

  it('is not held up by a stalling or huge JWKS endpoint', async () => {
    idp.setMode('/stall', 'stall');
    idp.setMode('/huge', 'huge');
    const provider = (path: string) => ({
      name: 'idp',
      issuer: 'https://idp.test/',
      audiences: ['api'],
      jwksUri: idp.url(path),
      jwksRefreshSeconds: 30,
      algorithms: ['ES256'],
    });
    await must(
      cluster,
      ['apply', '-n', ns, '-f', '-'],
      policyYaml('stalled', {
        selector: { matchLabels: { app: 'stalled' } },
        upstream: { port: 8080 },
        jwt: { providers: [provider('/stall')] },
      }),
    );
    await must(
      cluster,
      ['apply', '-n', ns, '-f', '-'],
      policyYaml('huge', {
        selector: { matchLabels: { app: 'huge' } },
        upstream: { port: 8080 },
        jwt: { providers: [provider('/huge')] },
      }),
    );
    const t = Date.now();
    await must(cluster, ['apply', '-n', ns, '-f', join(examples, 'nist-800-52r2-federal.yaml')]);
    await conditionIs(cluster, ns, 'benefits', { type: 'Ready', status: 'True' });
    assert.ok(Date.now() - t < 20_000, 'another policy became Ready while the endpoints misbehaved');
    const stalled = await conditionIs(cluster, ns, 'stalled', {
      type: 'JWKSReady',
      status: 'False',
      reason: 'FetchFailed',
    });
    assert.match(stalled.message, /did not answer within 2000 ms/);
    const huge = await conditionIs(cluster, ns, 'huge', {
      type: 'JWKSReady',
      status: 'False',
      reason: 'FetchFailed',
    });
    assert.match(huge.message, /more than 65536 bytes/);
    assert.equal(
      (await policyCondition(cluster, ns, 'stalled', 'Ready'))?.reason,
      'JWKSUnavailable',
      'no keys ever: not in force',
    );
  });

  it('removes the ConfigMap and NetworkPolicy of a deleted policy', async () => {
    await must(cluster, ['delete', 'acp', 'benefits', '-n', ns]);
    await eventually('the children to go', async () => {
      const cm = await kubectl(cluster, ['get', 'configmap', 'acp-config-benefits', '-n', ns]);
      const np = await kubectl(cluster, ['get', 'networkpolicy', 'acp-policy-benefits', '-n', ns]);
      return cm.code !== 0 && np.code !== 0 ? true : undefined;
    });
  });
});
