// Command-line flags of `npm run -w webhooks start -- [flags]`, parsed by a
// pure function from argv and the environment, with the grammar of all
// three processes (@acp/crds parseFlags: node:util parseArgs, Go
// durations). Bad flags throw ACP_ERR_USAGE naming the flag, with the usage
// text.
import {
  DEFAULT_OPERATOR_NAMESPACE,
  durationFlag,
  flagError,
  parseFlags,
  type FlagContext,
  type FlagSpec,
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
  --ca-lifetime D, --cert-lifetime D   defaults 8760h and 720h; renewal at 1/3 left
  --propagation D, --retire-grace D    CA rotation waits (defaults 60s and 10m)
  D is a Go duration, as in the policy's certificate fields: 90s, 10m, 720h, 1h30m (no days)
  --log-level LEVEL               pino level (default info)
  The cluster is reached through $KUBECONFIG or the in-cluster service account.`;

const CTX: FlagContext = { code: 'ACP_ERR_USAGE', usage: USAGE };

const SPEC: Record<string, FlagSpec> = {
  port: { type: 'string' },
  host: { type: 'string' },
  'metrics-port': { type: 'string' },
  namespace: { type: 'string' },
  'service-name': { type: 'string' },
  'secret-name': { type: 'string' },
  'mutating-configuration': { type: 'string', repeatable: true },
  'validating-configuration': { type: 'string', repeatable: true },
  'ip-san': { type: 'string', repeatable: true },
  'dns-san': { type: 'string', repeatable: true },
  'exclude-namespace': { type: 'string', repeatable: true },
  'injection-config': { type: 'string' },
  'ca-lifetime': { type: 'string' },
  'cert-lifetime': { type: 'string' },
  propagation: { type: 'string' },
  'retire-grace': { type: 'string' },
  'log-level': { type: 'string' },
};

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw flagError(CTX, flag, `"${value}" is not a port number (0 to 65535)`);
  return n;
}

const orDefault = (values: string[], fallback: string): string[] => (values.length > 0 ? values : [fallback]);

export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): WebhookConfig {
  const flags = parseFlags(argv, SPEC, CTX);
  const one = (name: string): string | undefined => flags.one(name);
  const many = (name: string): string[] => flags.many(name);
  const duration = (name: string, fallback: string): number => durationFlag(CTX, name, one(name) ?? fallback);
  const namespace = one('namespace') ?? env['POD_NAMESPACE'] ?? DEFAULT_OPERATOR_NAMESPACE;
  const serviceName = one('service-name') ?? WEBHOOK_SERVICE_NAME;
  const caLifetimeMs = duration('ca-lifetime', '8760h');
  const leafLifetimeMs = duration('cert-lifetime', '720h');
  const dns = [
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    ...many('dns-san'),
  ];
  return {
    port: port('port', one('port') ?? '9443'),
    host: one('host') ?? '0.0.0.0',
    metricsPort: port('metrics-port', one('metrics-port') ?? '8080'),
    namespace,
    serviceName,
    secretName: one('secret-name') ?? WEBHOOK_SERVING_SECRET,
    mutatingConfigurations: orDefault(many('mutating-configuration'), MUTATING_WEBHOOK_CONFIGURATION),
    validatingConfigurations: orDefault(many('validating-configuration'), VALIDATING_WEBHOOK_CONFIGURATION),
    excludedNamespaces: [...new Set([...SYSTEM_NAMESPACES, namespace, ...many('exclude-namespace')])],
    injectionConfigFile: one('injection-config'),
    logLevel: one('log-level') ?? 'info',
    certificates: {
      caLifetimeMs,
      caRenewBeforeMs: Math.floor(caLifetimeMs / 3),
      leafLifetimeMs,
      leafRenewBeforeMs: Math.floor(leafLifetimeMs / 3),
      propagationMs: duration('propagation', '60s'),
      retireGraceMs: duration('retire-grace', '10m'),
      sans: [...new Set([...dns.map((d) => `DNS:${d}`), ...many('ip-san').map((ip) => `IP:${ip}`)])],
    },
  };
}
