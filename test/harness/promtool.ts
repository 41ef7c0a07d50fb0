// Locates (building when needed) promtool: runs build-promtool.sh, which
// builds it from the Go module proxy at the version pinned in
// test/tools/promtool and caches it outside the repo. Progress goes to stderr.
// No Go outside CI: the caller may skip; with CI=true every failure throws.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export class PromtoolUnavailableError extends Error {
  readonly code = 'ACP_ERR_TEST_PROMTOOL';
}

/** The path of promtool, or undefined when Go is missing and CI is not set (the test skips). */
export function ensurePromtool(): string | undefined {
  const preset = process.env['ACP_TEST_PROMTOOL'];
  if (preset && existsSync(preset)) return preset;
  const result = spawnSync(join(import.meta.dirname, 'build-promtool.sh'), [], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status === 3 && process.env['CI'] !== 'true') return undefined;
  if (result.status !== 0) {
    throw new PromtoolUnavailableError(
      `building promtool failed (exit ${result.status ?? result.signal}); see the output above`,
    );
  }
  return join(result.stdout.trim().split('\n').pop() ?? '', 'promtool');
}
