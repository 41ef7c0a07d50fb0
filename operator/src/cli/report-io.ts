// The I/O of `acp report`: the policies from the cluster (as `acp status`
// finds it: --kubeconfig, -n, -A) or from -f files, the pure report
// (report-command.ts), and the files of --out-dir.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, type ApiCompliancePolicy } from '@acp/crds';
import { KubeClient, loadConnection, resourcePath, RESOURCES, systemClock } from '@acp/kube';
import type { CliArgs } from './args.ts';
import type { CliResult } from './commands.ts';
import type { InputFile } from './documents.ts';
import { policiesFromFiles, runReport, type ReportFormat } from './report-command.ts';

async function fromCluster(
  args: CliArgs,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ policies: ApiCompliancePolicy[]; source: string }> {
  const connection = loadConnection(args.kubeconfig ?? env['KUBECONFIG'], { ...env });
  const namespace = args.allNamespaces ? undefined : (args.namespace ?? connection.namespace ?? 'default');
  const client = await KubeClient.connect(connection, { clock: systemClock, userAgent: 'acp-cli' });
  try {
    const list = await client.list<ApiCompliancePolicy>(resourcePath(RESOURCES.policy, namespace));
    return {
      policies: list.items,
      source: `the cluster (${namespace ? `namespace ${namespace}` : 'all namespaces'})`,
    };
  } finally {
    await client.close();
  }
}

export async function runReportCommand(
  args: CliArgs,
  files: readonly InputFile[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<CliResult> {
  let policies: ApiCompliancePolicy[];
  let source: string;
  try {
    if (files.length > 0) {
      const read = policiesFromFiles(files);
      if (read.errors.length > 0)
        return { stdout: '', stderr: `acp: ${read.errors.join('\nacp: ')}\n`, exitCode: 1 };
      policies = read.policies;
      source = files.map((f) => f.name).join(', ');
    } else {
      ({ policies, source } = await fromCluster(args, env));
    }
  } catch (e) {
    return { stdout: '', stderr: `acp: ${errorMessage(e)}\n`, exitCode: 1 };
  }
  const out = runReport(policies, {
    format: args.output as ReportFormat,
    outDir: args.outDir,
    now: new Date(),
    source,
  });
  if (args.outDir) {
    mkdirSync(args.outDir, { recursive: true });
    for (const [name, text] of Object.entries(out.files)) writeFileSync(join(args.outDir, name), text);
  }
  return out.result;
}
