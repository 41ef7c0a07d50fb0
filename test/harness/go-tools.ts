// Locates (building when needed) the Go commands the monitoring tests run:
// promtool and prometheus (test/tools/prometheus) and the Prometheus Operator
// (test/tools/prometheus-operator). build-go-tool.sh builds each from the Go
// module proxy at the pinned version and caches it outside the repo; progress
// goes to stderr. No Go outside CI: the caller may skip; with CI=true every
// failure throws.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export class GoToolUnavailableError extends Error {
  readonly code = 'ACP_ERR_TEST_GO_TOOL';
}

const TOOLS = {
  promtool: ['prometheus', 'github.com/prometheus/prometheus/cmd/promtool', 'remove_all_sd'],
  // the server needs only Kubernetes service discovery
  prometheus: [
    'prometheus',
    'github.com/prometheus/prometheus/cmd/prometheus',
    'remove_all_sd,enable_kubernetes_sd',
  ],
  'prometheus-operator': [
    'prometheus-operator',
    'github.com/prometheus-operator/prometheus-operator/cmd/operator',
    '',
  ],
} as const;

export type GoTool = keyof typeof TOOLS;

/** The path of the tool, or undefined when Go is missing and CI is not set (the test skips). */
export function ensureGoTool(name: GoTool): string | undefined {
  const preset = process.env[`ACP_TEST_${name.toUpperCase().replace(/-/g, '_')}`];
  if (preset && existsSync(preset)) return preset;
  const [dir, pkg, tags] = TOOLS[name];
  const result = spawnSync(join(import.meta.dirname, 'build-go-tool.sh'), [dir, name, pkg, tags], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status === 3 && process.env['CI'] !== 'true') return undefined;
  if (result.status !== 0) {
    throw new GoToolUnavailableError(
      `building ${name} failed (exit ${result.status ?? result.signal}); see the output above`,
    );
  }
  return join(result.stdout.trim().split('\n').pop() ?? '', name);
}

/** promtool, as the rule tests use it. */
export function ensurePromtool(): string | undefined {
  return ensureGoTool('promtool');
}
