// Command-line flags and the start-up refusals, as pure functions over argv
// and the environment: --config, --identity-dir (defaults: the injected
// container's mounts), --workers, --host, --drain-timeout-ms, --log-level,
// --no-http-fast-path (the flag grammar of all three processes:
// @acp/crds parseFlags, node:util parseArgs); refuse to run with
// --insecure-http-parser (in execArgv or NODE_OPTIONS) or
// NODE_TLS_REJECT_UNAUTHORIZED=0.
import { join } from 'node:path';
import {
  AcpError,
  CONFIG_DIR,
  CONFIG_FILE,
  flagError,
  IDENTITY_DIR,
  parseFlags,
  type FlagContext,
  type FlagSpec,
} from '@acp/crds/sidecar';

export interface CliOptions {
  configPath: string;
  identityDir: string;
  workers: number;
  host: string;
  drainTimeoutMs: number;
  logLevel: string;
  /** Serve simple bodiless requests without node:http (server/fast-http.ts); on unless --no-http-fast-path. */
  httpFastPath: boolean;
}

export const USAGE = `usage: acp-sidecar [--config FILE] [--identity-dir DIR] [--workers N] [--host ADDR]
                   [--drain-timeout-ms MS] [--log-level LEVEL] [--no-http-fast-path]
  --config FILE          compiled sidecar config (default ${join(CONFIG_DIR, CONFIG_FILE)})
  --identity-dir DIR     tls.crt, tls.key, ca.crt (default ${IDENTITY_DIR})
  --workers N            worker processes sharing the inbound port (default 1)
  --host ADDR            listen address of the inbound and admin ports (default 0.0.0.0)
  --drain-timeout-ms MS  how long SIGTERM waits for in-flight requests (default 20000)
  --log-level LEVEL      operational log level (default info); audit records are always written
  --no-http-fast-path    let node:http serve every request (the fast path serves bodiless GET/HEAD/DELETE/OPTIONS)`;

const CTX: FlagContext = { code: 'ACP_ERR_USAGE', usage: USAGE };
const SPEC: Record<string, FlagSpec> = {
  config: { type: 'string' },
  'identity-dir': { type: 'string' },
  workers: { type: 'string' },
  host: { type: 'string' },
  'drain-timeout-ms': { type: 'string' },
  'log-level': { type: 'string' },
  'no-http-fast-path': { type: 'boolean' },
};

function positiveInt(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw flagError(CTX, flag, `"${value}" is not a whole number from 1 to ${max}`);
  return n;
}

/** Parses process.argv.slice(2) with the grammar of all three processes (@acp/crds parseFlags). */
export function parseArgs(argv: readonly string[]): CliOptions {
  const flags = parseFlags(argv, SPEC, CTX);
  const value = (name: string): string | undefined => {
    const v = flags.one(name);
    if (v === '') throw flagError(CTX, name, 'needs a value');
    return v;
  };
  const workers = value('workers');
  const drain = value('drain-timeout-ms');
  return {
    configPath: value('config') ?? join(CONFIG_DIR, CONFIG_FILE),
    identityDir: value('identity-dir') ?? IDENTITY_DIR,
    workers: workers === undefined ? 1 : positiveInt('workers', workers, 64),
    host: value('host') ?? '0.0.0.0',
    drainTimeoutMs: drain === undefined ? 20_000 : positiveInt('drain-timeout-ms', drain, 600_000),
    logLevel: value('log-level') ?? 'info',
    httpFastPath: !flags.on('no-http-fast-path'),
  };
}

/** Throws ACP_ERR_INSECURE_RUNTIME when the process runs with settings that undo the sidecar's guarantees. */
export function checkRuntime(
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): void {
  const nodeOptions = env['NODE_OPTIONS'] ?? '';
  if (execArgv.includes('--insecure-http-parser') || /(^|\s)--insecure-http-parser(\s|$)/.test(nodeOptions)) {
    throw new AcpError(
      'ACP_ERR_INSECURE_RUNTIME',
      'refusing to start: --insecure-http-parser disables HTTP request-smuggling protections',
    );
  }
  if (env['NODE_TLS_REJECT_UNAUTHORIZED'] === '0') {
    throw new AcpError(
      'ACP_ERR_INSECURE_RUNTIME',
      'refusing to start: NODE_TLS_REJECT_UNAUTHORIZED=0 disables certificate verification',
    );
  }
}
