// Locates (building when needed) the control-plane binaries: runs
// build-binaries.sh, which caches them outside the repo keyed by versions
// and go.sum. Progress goes to stderr.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Binaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubectl: string;
  helm: string;
}

const here = dirname(fileURLToPath(import.meta.url));

export class BinariesUnavailableError extends Error {
  readonly code = 'ACP_ERR_TEST_BINARIES';
}

function fromDir(dir: string): Binaries {
  return {
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubectl: join(dir, 'kubectl'),
    helm: join(dir, 'helm'),
  };
}

/** Builds or reuses the binaries. ACP_TEST_BIN_DIR short-circuits to an existing directory. */
export function ensureBinaries(): Binaries {
  const preset = process.env['ACP_TEST_BIN_DIR'];
  if (preset && existsSync(join(preset, 'kube-apiserver'))) return fromDir(preset);
  const result = spawnSync(join(here, 'build-binaries.sh'), [], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new BinariesUnavailableError(
      `building the control-plane binaries failed (exit ${result.status ?? result.signal}); see the output above`,
    );
  }
  const dir = result.stdout.trim().split('\n').pop() ?? '';
  return fromDir(dir);
}
