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

export function applyCrd(kubeconfig: string, kubectl: string): void {
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  execFileSync(kubectl, ['apply', '--server-side', '--force-conflicts', '-f', CRD_FILE], {
    env,
    stdio: 'pipe',
  });
  execFileSync(
    kubectl,
    ['wait', '--for=condition=Established', '--timeout=60s', 'crd/apicompliancepolicies.compliance.acp.dev'],
    { env, stdio: 'pipe' },
  );
}
