// Command-line flags and the start-up refusals, as pure functions over argv
// and the environment: --config, --identity-dir (defaults: the injected
// container's mounts), --workers, --host, --drain-timeout-ms, --log-level,
// --no-http-fast-path;
// refuse to run with --insecure-http-parser (in execArgv or NODE_OPTIONS)
// or NODE_TLS_REJECT_UNAUTHORIZED=0.
import { join } from 'node:path';
import { AcpError, CONFIG_DIR, CONFIG_FILE, IDENTITY_DIR } from '@acp/crds/sidecar';

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

function usageError(message: string): AcpError {
  return new AcpError('ACP_ERR_USAGE', `${message}\n${USAGE}`);
}

function positiveInt(flag: string, value: string | undefined, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw usageError(`${flag} needs a whole number from 1 to ${max}`);
  return n;
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = {
    configPath: join(CONFIG_DIR, CONFIG_FILE),
    identityDir: IDENTITY_DIR,
    workers: 1,
    host: '0.0.0.0',
    drainTimeoutMs: 20_000,
    logLevel: 'info',
    httpFastPath: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? '';
    const [name, inline] = flag.includes('=')
      ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)]
      : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw usageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--config':
        o.configPath = value();
        break;
      case '--identity-dir':
        o.identityDir = value();
        break;
      case '--workers':
        o.workers = positiveInt(name, value(), 64);
        break;
      case '--host':
        o.host = value();
        break;
      case '--drain-timeout-ms':
        o.drainTimeoutMs = positiveInt(name, value(), 600_000);
        break;
      case '--log-level':
        o.logLevel = value();
        break;
      case '--no-http-fast-path':
        if (inline !== undefined) throw usageError('--no-http-fast-path takes no value');
        o.httpFastPath = false;
        break;
      default:
        throw usageError(`unknown argument ${flag}`);
    }
  }
  return o;
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
