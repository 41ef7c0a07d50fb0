// `acp status` / `kubectl acp status` on a real kube-apiserver: a policy
// whose status (conditions, workloads) is written through the status
// subresource, a selected pod, its identity Secret and the CA Secret; the
// CLI runs as a child process against the test kubeconfig (and through
// the real kubectl, which finds kubectl-acp on PATH) and its table and
// JSON must show them. A user who may not read Secrets gets "unknown".
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { base } from '@acp/crds/testdata/bad-policies';
import { createRootCa } from '@acp/pki';
import {
  createNamespace,
  kubectl,
  serviceAccountKubeconfig,
  useCluster,
  type ExecResult,
  type TestCluster,
} from '../src/index.ts';

const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'operator', 'src', 'cli', 'main.ts');
const binDir = join(root, 'node_modules', '.bin');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

interface StatusJson {
  policies: {
    namespace: string;
    name: string;
    mode: string;
    ready: { status: string; reason: string };
    compliant: { status: string; reason: string; message: string };
    workloads: { selected: number; injected: number };
    nextRenewal: { kind: string; serviceAccount?: string; renewAt?: string; notAfter?: string; why?: string };
  }[];
  ca: { secret: string; notAfter?: string; unknown?: string };
}

describe('acp status on a real apiserver', () => {
  let cluster: TestCluster;
  let ns: string;
  let ops: string;
  let caNotAfter: string;
  const renewAt = new Date(Date.now() + 5 * HOUR).toISOString();
  const notAfter = new Date(Date.now() + 8 * HOUR).toISOString();
  const tmp = mkdtempSync(join(tmpdir(), 'acp-cli-status-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const env = (kubeconfig = cluster.kubeconfig): NodeJS.ProcessEnv => ({
    ...process.env,
    KUBECONFIG: kubeconfig,
    PATH: `${binDir}${delimiter}${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
  });
  const acp = (args: string[], kubeconfig?: string): Promise<ExecResult> =>
    run(process.execPath, [main, ...args], env(kubeconfig));
  const apply = async (obj: unknown): Promise<void> => {
    const r = await kubectl(cluster, ['apply', '-f', '-'], stringify(obj));
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    cluster = await useCluster();
    ns = await createNamespace(cluster, 'cli-status');
    ops = await createNamespace(cluster, 'cli-status-ops');
    await apply({ ...base('api'), metadata: { name: 'api', namespace: ns } });
    const status = {
      status: {
        observedGeneration: 1,
        conditions: [
          ['Ready', 'True', 'Reconciled', 'in force'],
          ['Compliant', 'False', 'ControlsFailing', 'HIPAA-1 fails'],
          ['Verified', 'True', 'Verified', 'every selected pod runs the compiled config'],
        ].map(([type, status, reason, message]) => ({
          type,
          status,
          reason,
          message,
          lastTransitionTime: '2026-01-01T00:00:00Z',
        })),
        workloads: { selected: 1, injected: 1, serviceAccounts: 1, summary: '1/1' },
      },
    };
    const patched = await kubectl(cluster, [
      'patch',
      'acp',
      'api',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
    assert.equal(patched.code, 0, patched.stderr);
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'api-1', namespace: ns, labels: { app: 'api' } },
      spec: { serviceAccountName: 'default', containers: [{ name: 'app', image: 'app:1' }] },
    });
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'acp-identity-default',
        namespace: ns,
        labels: { 'acp.dev/component': 'workload-identity', 'app.kubernetes.io/managed-by': 'acp-operator' },
        annotations: { 'acp.dev/renew-at': renewAt, 'acp.dev/not-after': notAfter },
      },
      data: { 'tls.crt': b64('not read by status') },
    });
    const ca = await createRootCa({
      commonName: 'cli status CA',
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: 30 * DAY,
      now: new Date(),
    });
    // Certificates keep whole seconds.
    caNotAfter = new X509Certificate(ca.certPem).validToDate.toISOString();
    // The operator's own CA, and a user CA (the operator's --ca-secret) with the same certificate.
    for (const name of ['acp-ca', 'user-ca']) {
      await apply({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name, namespace: ops },
        data: { 'tls.crt': b64(ca.certPem), 'tls.key': b64(ca.keyPem), 'ca.crt': b64(ca.certPem) },
      });
    }
  });

  const row =
    /^api\s+True \(Reconciled\)\s+False \(ControlsFailing\)\s+True \(Verified\)\s+Enforce\s+1\/1\s+in (4h5\dm|5h) \(default\)$/m;

  it('prints the policy, its conditions, workloads, next renewal and the CA expiry', async () => {
    const r = await acp(['status', '-n', ns, '--operator-namespace', ops]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME\s+READY\s+COMPLIANT\s+VERIFIED\s+MODE\s+WORKLOADS\s+NEXT RENEWAL$/m);
    assert.match(r.stdout, row);
    assert.match(r.stdout, new RegExp(`^  ${ns}/api Compliant: HIPAA-1 fails$`, 'm'));
    assert.match(r.stdout, new RegExp(`^CA ${ops}/acp-ca: expires in (29|30)d \\(${caNotAfter}\\)$`, 'm'));
  });

  it('prints the same as JSON with -o json', async () => {
    const r = await acp(['status', '-n', ns, '--operator-namespace', ops, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as StatusJson;
    assert.equal(json.policies.length, 1);
    const [p] = json.policies;
    assert.deepEqual(
      [p?.namespace, p?.name, p?.mode, p?.ready.reason, p?.compliant.status, p?.workloads],
      [ns, 'api', 'Enforce', 'Reconciled', 'False', { selected: 1, injected: 1 }],
    );
    assert.deepEqual(p?.nextRenewal, { kind: 'next', serviceAccount: 'default', renewAt, notAfter });
    assert.deepEqual(json.ca, { secret: `${ops}/acp-ca`, notAfter: caNotAfter, expired: false });
  });

  it('runs as a kubectl plugin: the real kubectl finds kubectl-acp on PATH', async () => {
    const r = await run(cluster.kubectlPath, ['acp', 'status', '-n', ns, '--operator-namespace', ops], env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, row);
  });

  it('-A shows every namespace, with a NAMESPACE column', async () => {
    const r = await acp(['status', '-A', '--operator-namespace', ops]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAMESPACE\s+NAME\s+READY/m);
    assert.match(r.stdout, new RegExp(`^${ns}\\s+api\\s+True \\(Reconciled\\)`, 'm'));
  });

  it("shows the kubeconfig context's namespace without -n", async () => {
    const kubeconfig = join(tmp, 'context-ns.kubeconfig');
    copyFileSync(cluster.kubeconfig, kubeconfig);
    const set = await run(
      cluster.kubectlPath,
      ['config', 'set-context', '--current', `--namespace=${ns}`],
      env(kubeconfig),
    );
    assert.equal(set.code, 0, set.stderr);
    const r = await acp(['status', '--operator-namespace', ops], kubeconfig);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, row);
    const other = await acp(['status', '--operator-namespace', ops]);
    assert.match(other.stdout, /No ApiCompliancePolicies found in namespace default\./);
  });

  it('says the CA expiry is unknown when its Secret is missing', async () => {
    const r = await acp(['status', '-n', ns, '--operator-namespace', ns]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^CA ${ns}/acp-ca: expiry unknown \\(not found\\)$`, 'm'));
  });

  it('reads the CA Secret --ca-secret names', async () => {
    const r = await acp(['status', '-n', ns, '--operator-namespace', ops, '--ca-secret', 'user-ca']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^CA ${ops}/user-ca: expires in (29|30)d \\(${caNotAfter}\\)$`, 'm'));
  });

  it('a user who may not read Secrets sees the policies, with renewals and the CA unknown', async () => {
    for (const args of [
      ['create', 'serviceaccount', 'viewer', '-n', ns],
      [
        'create',
        'role',
        'acp-viewer',
        '-n',
        ns,
        '--verb=get,list',
        '--resource=apicompliancepolicies.compliance.acp.dev,pods',
      ],
      ['create', 'rolebinding', 'acp-viewer', '-n', ns, '--role=acp-viewer', `--serviceaccount=${ns}:viewer`],
    ]) {
      const r = await kubectl(cluster, args);
      assert.equal(r.code, 0, r.stderr);
    }
    const kubeconfig = await serviceAccountKubeconfig(cluster, ns, 'viewer');
    const r = await acp(['status', '-n', ns, '--operator-namespace', ops, '-o', 'json'], kubeconfig);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as StatusJson;
    assert.equal(json.policies[0]?.nextRenewal.kind, 'unknown');
    assert.match(json.policies[0]?.nextRenewal.why ?? '', /^secrets: .*forbidden/);
    assert.match(json.ca.unknown ?? '', /forbidden/);
  });

  it('fails with exit 1 and the reason when it may not list policies', async () => {
    const kubeconfig = await serviceAccountKubeconfig(cluster, ns, 'default');
    const r = await acp(['status', '-n', ns], kubeconfig);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot list ApiCompliancePolicies: .*forbidden/);
  });
});
