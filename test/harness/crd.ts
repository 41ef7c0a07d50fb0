// Installs the ApiCompliancePolicy CRD with the built kubectl and waits
// until the apiserver serves it (Established). Idempotent.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CRD_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'crds',
  'manifests',
  'apicompliancepolicies.compliance.acp.dev.yaml',
);

function run(kubectl: string, args: string[], env: NodeJS.ProcessEnv, what: string): void {
  try {
    execFileSync(kubectl, args, { env, stdio: 'pipe' });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
    throw new Error(`${what} failed: ${stderr}`, { cause: e });
  }
}

/** Applies the CRD and waits (up to 3 minutes on a loaded machine) until it is served. */
export function applyCrd(kubeconfig: string, kubectl: string): void {
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  run(
    kubectl,
    ['apply', '--server-side', '--force-conflicts', '-f', CRD_FILE],
    env,
    'kubectl apply of the CRD',
  );
  run(
    kubectl,
    ['wait', '--for=condition=Established', '--timeout=180s', 'crd/apicompliancepolicies.compliance.acp.dev'],
    env,
    'waiting for the CRD to be Established',
  );
}
