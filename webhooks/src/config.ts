// Command-line flags of `npm run -w webhooks start -- [flags]`, parsed by a
// pure function from argv and the environment. Bad flags throw
// ACP_ERR_USAGE with the usage text.
import {
  AcpError,
  DEFAULT_OPERATOR_NAMESPACE,
  MUTATING_WEBHOOK_CONFIGURATION,
  SYSTEM_NAMESPACES,
  VALIDATING_WEBHOOK_CONFIGURATION,
  WEBHOOK_SERVICE_NAME,
  WEBHOOK_SERVING_SECRET,
} from '@acp/crds';
import type { CertSettings } from './certs/plan.ts';

export interface WebhookConfig {
  port: number;
  host: string;
  /** Plain-HTTP /metrics, /healthz, /readyz; 0 = off. */
  metricsPort: number;
  namespace: string;
  serviceName: string;
  secretName: string;
  mutatingConfigurations: string[];
  validatingConfigurations: string[];
  excludedNamespaces: string[];
  injectionConfigFile: string | undefined;
  logLevel: string;
  certificates: CertSettings;
}

export const USAGE = `usage: acp-webhook [flags]
  --port N                        HTTPS admission port (default 9443)
  --host ADDR                     listen address (default 0.0.0.0)
  --metrics-port N                plain HTTP /metrics, /healthz, /readyz (default 8080, 0 = off)
  --namespace NS                  the webhook's namespace: serving Secret, excluded from injection
                                  (default $POD_NAMESPACE or ${DEFAULT_OPERATOR_NAMESPACE})
  --service-name NAME             Service of the webhook, for the certificate's DNS names (default ${WEBHOOK_SERVICE_NAME})
  --secret-name NAME              serving-certificate Secret (default ${WEBHOOK_SERVING_SECRET})
  --mutating-configuration NAME   MutatingWebhookConfiguration whose caBundle is managed (repeatable;
                                  default ${MUTATING_WEBHOOK_CONFIGURATION})
  --validating-configuration NAME ValidatingWebhookConfiguration whose caBundle is managed (repeatable;
                                  default ${VALIDATING_WEBHOOK_CONFIGURATION})
  --ip-san IP, --dns-san NAME     extra SANs of the serving certificate (repeatable)
  --exclude-namespace NS          never inject in NS, besides ${SYSTEM_NAMESPACES.join(', ')} and --namespace (repeatable)
  --injection-config FILE         sidecar settings (YAML/JSON: image, resources, ...) from the chart
  --ca-lifetime D, --cert-lifetime D   e.g. 8760h, 720h (defaults 8760h and 720h); renewal at 1/3 left
  --propagation D, --retire-grace D    CA rotation waits (defaults 60s and 10m)
  --log-level LEVEL               pino level (default info)
  The cluster is reached through $KUBECONFIG or the in-cluster service account.`;

const usage = (message: string): AcpError => new AcpError('ACP_ERR_USAGE', `${message}\n${USAGE}`);

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!m) throw usage(`${flag} needs a duration like 90s, 10m, 720h`);
  return Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000);
}

function port(flag: string, value: string, allowZero: boolean): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535)
    throw usage(`${flag} needs a port number`);
  return n;
}

const REPEATABLE = new Set([
  '--mutating-configuration',
  '--validating-configuration',
  '--ip-san',
  '--dns-san',
  '--exclude-namespace',
]);

function collect(argv: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw usage(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw usage(`${name} needs a value`);
    if (out.has(name) && !REPEATABLE.has(name)) throw usage(`${name} given twice`);
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}

const KNOWN = new Set([
  ...REPEATABLE,
  '--port',
  '--host',
  '--metrics-port',
  '--namespace',
  '--service-name',
  '--secret-name',
  '--injection-config',
  '--ca-lifetime',
  '--cert-lifetime',
  '--propagation',
  '--retire-grace',
  '--log-level',
]);

export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): WebhookConfig {
  const flags = collect(argv);
  for (const name of flags.keys()) if (!KNOWN.has(name)) throw usage(`unknown flag ${name}`);
  const one = (name: string): string | undefined => flags.get(name)?.[0];
  const many = (name: string): string[] => flags.get(name) ?? [];
  const namespace = one('--namespace') ?? env['POD_NAMESPACE'] ?? DEFAULT_OPERATOR_NAMESPACE;
  const serviceName = one('--service-name') ?? WEBHOOK_SERVICE_NAME;
  const caLifetimeMs = parseDuration('--ca-lifetime', one('--ca-lifetime') ?? '8760h');
  const leafLifetimeMs = parseDuration('--cert-lifetime', one('--cert-lifetime') ?? '720h');
  const dns = [
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    ...many('--dns-san'),
  ];
  return {
    port: port('--port', one('--port') ?? '9443', true),
    host: one('--host') ?? '0.0.0.0',
    metricsPort: port('--metrics-port', one('--metrics-port') ?? '8080', true),
    namespace,
    serviceName,
    secretName: one('--secret-name') ?? WEBHOOK_SERVING_SECRET,
    mutatingConfigurations: flags.get('--mutating-configuration') ?? [MUTATING_WEBHOOK_CONFIGURATION],
    validatingConfigurations: flags.get('--validating-configuration') ?? [VALIDATING_WEBHOOK_CONFIGURATION],
    excludedNamespaces: [...new Set([...SYSTEM_NAMESPACES, namespace, ...many('--exclude-namespace')])],
    injectionConfigFile: one('--injection-config'),
    logLevel: one('--log-level') ?? 'info',
    certificates: {
      caLifetimeMs,
      caRenewBeforeMs: Math.floor(caLifetimeMs / 3),
      leafLifetimeMs,
      leafRenewBeforeMs: Math.floor(leafLifetimeMs / 3),
      propagationMs: parseDuration('--propagation', one('--propagation') ?? '60s'),
      retireGraceMs: parseDuration('--retire-grace', one('--retire-grace') ?? '10m'),
      sans: [...new Set([...dns.map((d) => `DNS:${d}`), ...many('--ip-san').map((ip) => `IP:${ip}`)])],
    },
  };
}
