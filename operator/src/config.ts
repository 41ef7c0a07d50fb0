// The operator's configuration, parsed by a pure function from flags and
// environment (flags win). Flags follow the grammar of all three processes
// (@acp/crds parseFlags: node:util parseArgs, Go durations). Every bad
// value is an ACP_ERR_CONFIG error that names the flag.
import {
  DEFAULT_OPERATOR_NAMESPACE,
  DEFAULT_TRUST_DOMAIN,
  SIDECAR_RELEASE,
  durationFlag,
  flagError,
  parseFlags,
  type FlagContext,
  type KeyAlgorithm,
} from '@acp/crds';
import { KEY_ALGORITHMS } from '@acp/pki';

export interface OperatorConfig {
  namespace: string;
  trustDomain: string;
  /** The cluster's DNS domain (Service FQDNs <svc>.<ns>.svc.<domain>), for the mesh directory's names. */
  clusterDomain: string;
  /** A user CA Secret in `namespace`; undefined = the operator's own root in acp-ca. */
  caSecretName: string | undefined;
  caKeyAlgorithm: KeyAlgorithm;
  caLifetimeMs: number;
  /** How long to wait after every trust bundle holds a new root before issuing from it (kubelet sync). */
  bundlePropagationMs: number;
  /** notBefore backdating of workload certificates (clock skew). */
  certBackdateMs: number;
  metricsPort: number;
  metricsHost: string;
  leaderElection: boolean;
  leaseName: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  workers: number;
  logLevel: string;
  kubeconfig: string | undefined;
  /** Only these namespaces are watched and reconciled (besides the operator's own); empty = all. */
  watchNamespaces: string[];
  /** Namespaces allowed to reach the sidecar admin port, as key=value[,key=value]. */
  monitoringNamespaceSelector: string;
  /** Extra CA (PEM file) trusted for jwksUri fetches, besides the system roots. */
  jwksCaFile: string | undefined;
  jwksTimeoutMs: number;
  jwksMaxBytes: number;
  jwksMaxKeys: number;
  /** Every this long the leader re-reconciles every object (0 = never). */
  resyncPeriodMs: number;
  /** The leader keeps the served CRD at the schema this image ships (crd/upgrade.ts). */
  manageCrd: boolean;
  /** This operator's release (the chart's appVersion); `dev` when unset. */
  version: string;
  /** Every this long the leader probes every injected workload (0 = never). */
  verifyPeriodMs: number;
  /** Workloads probed at once. */
  probeConcurrency: number;
  /** New TLS connections per second the prober opens, in total. */
  probeRate: number;
  /** Timeout of one probe connection or admin request. */
  probeTimeoutMs: number;
  /** How long after a config change its pods are left unprobed (the kubelet delivering it). */
  probePropagationMs: number;
  /** The sidecar release the webhook injects; an older one running is drift. */
  sidecarVersion: string;
}

type Source = Record<string, string | undefined>;

const FLAGS: Record<string, { env: string; help: string }> = {
  namespace: { env: 'ACP_NAMESPACE', help: "the operator's own namespace" },
  'trust-domain': { env: 'ACP_TRUST_DOMAIN', help: 'SPIFFE trust domain' },
  'cluster-domain': { env: 'ACP_CLUSTER_DOMAIN', help: "the cluster's DNS domain, for Service names" },
  'ca-secret': { env: 'ACP_CA_SECRET', help: 'a user CA Secret (tls.crt, tls.key, ca.crt) in the namespace' },
  'ca-key-algorithm': { env: 'ACP_CA_KEY_ALGORITHM', help: "key algorithm of the operator's own root" },
  'ca-lifetime': { env: 'ACP_CA_LIFETIME', help: "lifetime of the operator's own root" },
  'bundle-propagation': {
    env: 'ACP_BUNDLE_PROPAGATION',
    help: 'wait after a trust bundle change before issuing from a new CA',
  },
  'cert-backdate': { env: 'ACP_CERT_BACKDATE', help: 'notBefore backdating of workload certificates' },
  'metrics-port': { env: 'ACP_METRICS_PORT', help: 'port of /metrics, /healthz, /readyz' },
  'metrics-host': { env: 'ACP_METRICS_HOST', help: 'address to bind /metrics, /healthz, /readyz' },
  'leader-elect': { env: 'ACP_LEADER_ELECT', help: 'use leader election (true|false)' },
  'lease-name': { env: 'ACP_LEASE_NAME', help: 'name of the leader-election Lease' },
  identity: { env: 'POD_NAME', help: 'this replica in leader election' },
  'lease-duration': { env: 'ACP_LEASE_DURATION', help: 'leader election lease duration' },
  'renew-deadline': { env: 'ACP_RENEW_DEADLINE', help: 'leader election renew deadline' },
  'retry-period': { env: 'ACP_RETRY_PERIOD', help: 'leader election retry period' },
  workers: { env: 'ACP_WORKERS', help: 'workers per controller' },
  'log-level': { env: 'ACP_LOG_LEVEL', help: 'pino log level' },
  kubeconfig: { env: 'KUBECONFIG', help: 'kubeconfig file (in-cluster config when unset)' },
  'watch-namespaces': {
    env: 'ACP_WATCH_NAMESPACES',
    help: 'comma-separated namespaces to reconcile (default: all)',
  },
  'monitoring-namespace-selector': {
    env: 'ACP_MONITORING_NAMESPACE_SELECTOR',
    help: 'key=value labels of namespaces that may scrape the sidecar admin port',
  },
  'jwks-ca-file': { env: 'ACP_JWKS_CA_FILE', help: 'extra CA bundle (PEM) for jwksUri fetches' },
  'manage-crd': {
    env: 'ACP_MANAGE_CRD',
    help: 'upgrade the served CRD to the schema this operator ships (true|false)',
  },
  version: { env: 'ACP_VERSION', help: "this operator's release (the chart's appVersion)" },
  'jwks-timeout': { env: 'ACP_JWKS_TIMEOUT', help: 'timeout of one jwksUri fetch' },
  'jwks-max-bytes': { env: 'ACP_JWKS_MAX_BYTES', help: 'largest JWKS body accepted' },
  'jwks-max-keys': { env: 'ACP_JWKS_MAX_KEYS', help: 'most keys accepted in one JWKS' },
  'resync-period': { env: 'ACP_RESYNC_PERIOD', help: 're-reconcile everything this often (0s disables)' },
  'verify-period': { env: 'ACP_VERIFY_PERIOD', help: 'probe injected pods this often (0s: never)' },
  'probe-concurrency': { env: 'ACP_PROBE_CONCURRENCY', help: 'workloads probed at once' },
  'probe-rate': { env: 'ACP_PROBE_RATE', help: 'new probe TLS connections per second, in total' },
  'probe-timeout': { env: 'ACP_PROBE_TIMEOUT', help: 'timeout of one probe connection' },
  'probe-propagation': { env: 'ACP_PROBE_PROPAGATION', help: 'skip pods after a config change' },
  'sidecar-version': { env: 'ACP_SIDECAR_VERSION', help: 'the sidecar release the webhook injects' },
};

export const USAGE = Object.entries(FLAGS)
  .map(([flag, { env, help }]) => `  --${flag.padEnd(20)} ${help} (env ${env})`)
  .join('\n');

const CTX: FlagContext = { code: 'ACP_ERR_CONFIG' };
const bad = (flag: string, message: string) => flagError(CTX, flag, message);
const SPEC = Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }]));

function durationOf(flag: string, value: string, min: number): number {
  const ms = durationFlag(CTX, flag, value);
  if (ms < min) throw bad(flag, `must be at least ${min}ms`);
  return ms;
}

function intOf(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw bad(flag, `"${value}" must be a whole number from ${min} to ${max}`);
  return n;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseOperatorConfig(argv: readonly string[], env: Source): OperatorConfig {
  const flags = parseFlags(argv, SPEC, { ...CTX, usage: USAGE });
  const get = (flag: string, fallback: string): string =>
    flags.one(flag) ?? env[FLAGS[flag]?.env ?? ''] ?? fallback;
  const namespace = get('namespace', DEFAULT_OPERATOR_NAMESPACE);
  if (!DNS_LABEL.test(namespace)) throw bad('namespace', `"${namespace}" is not a namespace name`);
  const trustDomain = get('trust-domain', DEFAULT_TRUST_DOMAIN);
  if (!/^[a-z0-9._-]+$/.test(trustDomain))
    throw bad(
      'trust-domain',
      `"${trustDomain}" is not a SPIFFE trust domain (lower case letters, digits, . _ -)`,
    );
  const clusterDomain = get('cluster-domain', 'cluster.local');
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(clusterDomain))
    throw bad('cluster-domain', `"${clusterDomain}" is not a DNS domain`);
  const caKeyAlgorithm = get('ca-key-algorithm', 'ECDSA-P256') as KeyAlgorithm;
  if (!KEY_ALGORITHMS.includes(caKeyAlgorithm))
    throw bad('ca-key-algorithm', `must be one of ${KEY_ALGORITHMS.join(', ')}`);
  const leaderElect = get('leader-elect', 'true');
  if (leaderElect !== 'true' && leaderElect !== 'false') throw bad('leader-elect', 'must be true or false');
  const manageCrd = get('manage-crd', 'true');
  if (manageCrd !== 'true' && manageCrd !== 'false') throw bad('manage-crd', 'must be true or false');
  const caSecret = get('ca-secret', '');
  const config: OperatorConfig = {
    namespace,
    trustDomain,
    clusterDomain,
    caSecretName: caSecret === '' ? undefined : caSecret,
    caKeyAlgorithm,
    caLifetimeMs: durationOf('ca-lifetime', get('ca-lifetime', '87600h'), 24 * 3_600_000),
    bundlePropagationMs: durationOf('bundle-propagation', get('bundle-propagation', '2m'), 0),
    certBackdateMs: durationOf('cert-backdate', get('cert-backdate', '5m'), 0),
    metricsPort: intOf('metrics-port', get('metrics-port', '8080'), 0, 65535),
    metricsHost: get('metrics-host', '0.0.0.0'),
    leaderElection: leaderElect === 'true',
    manageCrd: manageCrd === 'true',
    version: get('version', 'dev'),
    leaseName: get('lease-name', 'acp-operator'),
    identity: get('identity', env['HOSTNAME'] ?? 'acp-operator'),
    leaseDurationMs: durationOf('lease-duration', get('lease-duration', '10s'), 1000),
    renewDeadlineMs: durationOf('renew-deadline', get('renew-deadline', '7s'), 500),
    retryPeriodMs: durationOf('retry-period', get('retry-period', '2s'), 100),
    workers: intOf('workers', get('workers', '4'), 1, 64),
    logLevel: get('log-level', 'info'),
    kubeconfig: get('kubeconfig', '') || undefined,
    watchNamespaces: get('watch-namespaces', '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
    monitoringNamespaceSelector: get(
      'monitoring-namespace-selector',
      'kubernetes.io/metadata.name=monitoring',
    ),
    jwksCaFile: get('jwks-ca-file', '') || undefined,
    jwksTimeoutMs: durationOf('jwks-timeout', get('jwks-timeout', '5s'), 100),
    jwksMaxBytes: intOf('jwks-max-bytes', get('jwks-max-bytes', '1048576'), 1024, 16 * 1048576),
    jwksMaxKeys: intOf('jwks-max-keys', get('jwks-max-keys', '32'), 1, 1000),
    resyncPeriodMs: durationOf('resync-period', get('resync-period', '10m'), 0),
    verifyPeriodMs: durationOf('verify-period', get('verify-period', '5m'), 0),
    probeConcurrency: intOf('probe-concurrency', get('probe-concurrency', '16'), 1, 256),
    probeRate: intOf('probe-rate', get('probe-rate', '100'), 1, 10_000),
    probeTimeoutMs: durationOf('probe-timeout', get('probe-timeout', '5s'), 100),
    probePropagationMs: durationOf('probe-propagation', get('probe-propagation', '90s'), 0),
    sidecarVersion: get('sidecar-version', SIDECAR_RELEASE),
  };
  if (
    !/^([A-Za-z0-9._/-]+=[A-Za-z0-9._-]*)(,[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*)*$/.test(
      config.monitoringNamespaceSelector,
    )
  ) {
    throw bad(
      'monitoring-namespace-selector',
      `"${config.monitoringNamespaceSelector}" is not key=value[,key=value]`,
    );
  }
  for (const n of config.watchNamespaces)
    if (!DNS_LABEL.test(n)) throw bad('watch-namespaces', `"${n}" is not a namespace name`);
  if (config.renewDeadlineMs >= config.leaseDurationMs)
    throw bad('renew-deadline', 'must be shorter than --lease-duration');
  if (config.retryPeriodMs >= config.renewDeadlineMs)
    throw bad('retry-period', 'must be shorter than --renew-deadline');
  return config;
}
