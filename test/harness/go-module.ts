// The source directory of a Go module pinned in test/tools/<tool>/go.mod,
// downloaded through the Go module proxy into the module cache (`go mod
// download`, checked against go.sum). For test fixtures that ship inside a
// Go module (the Prometheus Operator's CRDs). No Go outside CI: undefined (the
// caller may skip); with CI=true every failure throws.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export class GoModuleUnavailableError extends Error {
  readonly code = 'ACP_ERR_TEST_GO_MODULE';
}

export function goModuleDir(tool: string, modulePath: string): string | undefined {
  const r = spawnSync('go', ['mod', 'download', '-json', modulePath], {
    cwd: join(import.meta.dirname, '..', 'tools', tool),
    env: { ...process.env, GOTOOLCHAIN: 'local', GOWORK: 'off', GOFLAGS: '-mod=mod' },
    encoding: 'utf8',
  });
  if (r.error && process.env['CI'] !== 'true') return undefined;
  const dir = r.status === 0 ? (JSON.parse(r.stdout) as { Dir?: string }).Dir : undefined;
  if (!dir) {
    throw new GoModuleUnavailableError(
      `go mod download ${modulePath} (test/tools/${tool}) failed: ${r.error?.message ?? r.stderr}`,
    );
  }
  return dir;
}
