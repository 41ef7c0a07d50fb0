// The I/O of `acp status`: finds the apiserver (--kubeconfig, $KUBECONFIG,
// in-cluster, ~/.kube/config) and the namespace (-n, else the context's),
// reads the policies, the pods and identity Secrets of their namespaces and
// the CA Secret (--ca-secret, default acp-ca) with @acp/kube, and hands them to the pure report
// (status.ts). A namespace or Secret it may not read becomes "unknown" in
// the report; only a failure to list the policies fails the command.
import { COMPONENT_LABEL, errorMessage, type ApiCompliancePolicy } from '@acp/crds';
import {
  KubeClient,
  loadConnection,
  resourcePath,
  RESOURCES,
  systemClock,
  type Pod,
  type Secret,
} from '@acp/kube';
import { IDENTITY_COMPONENT } from '../identity/secret.ts';
import type { CliArgs } from './args.ts';
import type { CliResult } from './commands.ts';
import {
  formatStatusJson,
  formatStatusTable,
  statusReport,
  type CaInput,
  type NamespaceObjects,
} from './status.ts';

async function items<T>(client: KubeClient, path: string, labelSelector?: string): Promise<T[]> {
  return (await client.list<T>(path, labelSelector ? { labelSelector } : {})).items;
}

const orError = <T>(p: Promise<T[]>): Promise<T[] | { error: string }> =>
  p.catch((e: unknown) => ({ error: errorMessage(e) }));

async function readNamespace(client: KubeClient, namespace: string): Promise<NamespaceObjects> {
  const [pods, identitySecrets] = await Promise.all([
    orError(items<Pod>(client, resourcePath(RESOURCES.pod, namespace))),
    orError(
      items<Secret>(
        client,
        resourcePath(RESOURCES.secret, namespace),
        `${COMPONENT_LABEL}=${IDENTITY_COMPONENT}`,
      ),
    ),
  ]);
  return { pods, identitySecrets };
}

async function readCa(client: KubeClient, namespace: string, name: string): Promise<CaInput> {
  const secret = `${namespace}/${name}`;
  try {
    const found = await client.find<Secret>(resourcePath(RESOURCES.secret, namespace, name));
    const pem = found?.data?.['tls.crt'];
    if (!found) return { secret, error: 'not found' };
    if (!pem) return { secret, error: 'no tls.crt' };
    return { secret, certPem: Buffer.from(pem, 'base64').toString('utf8') };
  } catch (e) {
    return { secret, error: errorMessage(e) };
  }
}

export async function runStatus(
  args: CliArgs,
  env: Readonly<Record<string, string | undefined>>,
): Promise<CliResult> {
  let client: KubeClient;
  let namespace: string | undefined;
  try {
    const connection = loadConnection(args.kubeconfig ?? env['KUBECONFIG'], { ...env });
    namespace = args.allNamespaces ? undefined : (args.namespace ?? connection.namespace ?? 'default');
    client = await KubeClient.connect(connection, { clock: systemClock, userAgent: 'acp-cli' });
  } catch (e) {
    return { stdout: '', stderr: `acp: ${errorMessage(e)}\n`, exitCode: 1 };
  }
  try {
    const policies = await items<ApiCompliancePolicy>(client, resourcePath(RESOURCES.policy, namespace));
    const names = [...new Set(policies.map((p) => p.metadata?.namespace ?? ''))].sort();
    const [objects, ca] = await Promise.all([
      Promise.all(names.map(async (ns) => [ns, await readNamespace(client, ns)] as const)),
      readCa(client, args.operatorNamespace, args.caSecret),
    ]);
    const now = new Date();
    const report = statusReport({ policies, namespaces: Object.fromEntries(objects), ca, now });
    const stdout =
      args.output === 'json'
        ? formatStatusJson(report)
        : formatStatusTable(report, { now, allNamespaces: args.allNamespaces, namespace });
    return { stdout, stderr: '', exitCode: 0 };
  } catch (e) {
    return {
      stdout: '',
      stderr: `acp: cannot list ApiCompliancePolicies: ${errorMessage(e)}\n`,
      exitCode: 1,
    };
  } finally {
    await client.close();
  }
}
