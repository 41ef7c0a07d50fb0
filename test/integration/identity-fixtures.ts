// Fixtures for the operator identity tests: an operator namespace with the
// chart's RBAC and a ServiceAccount kubeconfig, workload namespaces with
// service accounts, pods and policies, and readers for what the operator
// wrote (identity Secrets, trust bundles, status, Events).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  createNamespace,
  eventually,
  installOperatorRbac,
  kubectl,
  serviceAccountKubeconfig,
  startOperator,
  type OperatorProcess,
  type TestCluster,
} from '../src/index.ts';

export interface OperatorEnv {
  operatorNamespace: string;
  kubeconfig: string;
  workloadNamespace: string;
}

export async function operatorEnv(cluster: TestCluster, prefix: string): Promise<OperatorEnv> {
  const workloadNamespace = await createNamespace(cluster, prefix);
  const operatorNamespace = `${workloadNamespace}-op`;
  await installOperatorRbac(cluster, operatorNamespace);
  const kubeconfig = await serviceAccountKubeconfig(cluster, operatorNamespace, 'acp-operator');
  return { operatorNamespace, kubeconfig, workloadNamespace };
}

/** A fresh operator and workload namespace with the operator running as a process in it. */
export async function startOperatorEnv(
  cluster: TestCluster,
  prefix: string,
  identity: string,
  args: string[],
): Promise<{ env: OperatorEnv; operator: OperatorProcess }> {
  const env = await operatorEnv(cluster, prefix);
  const operator = await startOperator({
    kubeconfig: env.kubeconfig,
    namespace: env.operatorNamespace,
    watchNamespaces: [env.workloadNamespace],
    identity,
    args,
  });
  return { env, operator };
}

export async function must(cluster: TestCluster, args: string[], input?: string): Promise<string> {
  const r = await kubectl(cluster, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export async function createWorkload(
  cluster: TestCluster,
  ns: string,
  sa: string,
  pod: string,
  labels: Record<string, string>,
): Promise<void> {
  await kubectl(cluster, ['create', 'serviceaccount', sa, '-n', ns]);
  await must(
    cluster,
    ['apply', '-f', '-'],
    stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod, namespace: ns, labels },
      spec: { serviceAccountName: sa, containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    }),
  );
}

export async function applyPolicy(
  cluster: TestCluster,
  ns: string,
  name: string,
  app: string,
  certificates: Record<string, string> = {},
): Promise<void> {
  await must(
    cluster,
    ['apply', '-f', '-'],
    stringify({
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name, namespace: ns },
      spec: { selector: { matchLabels: { app } }, upstream: { port: 8080 }, certificates },
    }),
  );
}

export interface IdentityFiles {
  certPem: string;
  keyPem: string;
  caPem: string;
  leaf: X509Certificate;
  resourceVersion: string;
  annotations: Record<string, string>;
}

export async function readIdentity(
  cluster: TestCluster,
  ns: string,
  sa: string,
): Promise<IdentityFiles | undefined> {
  const r = await kubectl(cluster, ['get', 'secret', `acp-identity-${sa}`, '-n', ns, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const s = JSON.parse(r.stdout) as {
    data: Record<string, string>;
    metadata: { resourceVersion: string; annotations?: Record<string, string> };
  };
  const d = (k: string): string => Buffer.from(s.data[k] ?? '', 'base64').toString('utf8');
  return {
    certPem: d('tls.crt'),
    keyPem: d('tls.key'),
    caPem: d('ca.crt'),
    leaf: new X509Certificate(d('tls.crt')),
    resourceVersion: s.metadata.resourceVersion,
    annotations: s.metadata.annotations ?? {},
  };
}

export async function readBundle(cluster: TestCluster, ns: string): Promise<string | undefined> {
  const r = await kubectl(cluster, [
    'get',
    'configmap',
    'acp-trust-bundle',
    '-n',
    ns,
    '-o',
    'jsonpath={.data.ca\\.crt}',
  ]);
  return r.code === 0 && r.stdout ? r.stdout : undefined;
}

export const bundleSize = (pem: string): number => (pem.match(/BEGIN CERTIFICATE/g) ?? []).length;

/** Runs `openssl verify` of the leaf (with its chain) against a bundle; returns openssl's output. */
export function opensslVerify(certPem: string, bundlePem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'acp-verify-'));
  writeFileSync(join(dir, 'leaf.pem'), certPem);
  writeFileSync(join(dir, 'bundle.pem'), bundlePem);
  return execFileSync(
    'openssl',
    [
      'verify',
      '-x509_strict',
      '-purpose',
      'sslclient',
      '-CAfile',
      join(dir, 'bundle.pem'),
      join(dir, 'leaf.pem'),
    ],
    { encoding: 'utf8' },
  );
}

export async function policyCondition(
  cluster: TestCluster,
  ns: string,
  policy: string,
  type: string,
): Promise<{ status: string; reason: string; message: string } | undefined> {
  const r = await kubectl(cluster, ['get', 'acp', policy, '-n', ns, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const p = JSON.parse(r.stdout) as {
    status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
  };
  return p.status?.conditions?.find((c) => c.type === type);
}

export async function eventReasons(
  cluster: TestCluster,
  ns: string,
): Promise<{ reason: string; type: string; note: string; instance: string; regarding: string }[]> {
  const out = await must(cluster, ['get', 'events.events.k8s.io', '-n', ns, '-o', 'json']);
  const list = JSON.parse(out) as {
    items: {
      reason: string;
      type: string;
      note?: string;
      reportingInstance?: string;
      regarding?: { kind?: string; name?: string };
    }[];
  };
  return list.items.map((e) => ({
    reason: e.reason,
    type: e.type,
    note: e.note ?? '',
    instance: e.reportingInstance ?? '',
    regarding: `${e.regarding?.kind ?? ''}/${e.regarding?.name ?? ''}`,
  }));
}

export { eventually };
