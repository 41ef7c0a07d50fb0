// The fixed names of the API contract (DESIGN.md "API contract"): API
// group, labels and annotations, ports, paths, and the deterministic names
// of every child object the operator writes. Every package imports these;
// nothing else spells them. Pure; no I/O.
import { createHash } from 'node:crypto';

export const GROUP = 'compliance.acp.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ApiCompliancePolicy';
export const PLURAL = 'apicompliancepolicies';
export const SHORT_NAMES = ['acp', 'acpolicy'] as const;
export const CRD_NAME = `${PLURAL}.${GROUP}`;

export const LABEL_PREFIX = 'acp.dev/';
/** Namespace opt-in: label `acp.dev/injection=enabled`. */
export const INJECTION_LABEL = 'acp.dev/injection';
export const INJECTION_ENABLED = 'enabled';
/** Pod opt-out / opt-in: annotation `acp.dev/inject: "false"` / `"true"`. */
export const INJECT_ANNOTATION = 'acp.dev/inject';
/** Injected-state annotation (JSON: policy, sidecar version, skip reason). */
export const STATUS_ANNOTATION = 'acp.dev/status';
/** Labels on every child object, naming what produced it. */
export const POLICY_LABEL = 'acp.dev/policy';
export const SERVICE_ACCOUNT_LABEL = 'acp.dev/service-account';
export const COMPONENT_LABEL = 'acp.dev/component';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'acp-operator';

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_OPERATOR_NAMESPACE = 'acp-system';

export const SIDECAR_CONTAINER_NAME = 'acp-sidecar';
/**
 * The sidecar release this source tree builds: the sidecar reports it on its admin port (/config),
 * the operator expects it (--sidecar-version defaults to it); an older one running is drift.
 */
export const SIDECAR_RELEASE = '0.1.0';
/** The service account name in the operator's probe identity, spiffe://<td>/ns/<operator ns>/sa/acp-prober. */
export const PROBE_SERVICE_ACCOUNT = 'acp-prober';
export const PORTS = { inbound: 8443, admin: 15021, outbound: 15001 } as const;
export const PORT_NAMES = { inbound: 'acp-tls', admin: 'acp-admin' } as const;
export const ADMIN_PATHS = {
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  /** JSON {configHash, version, policy}: the config in force and the sidecar's release (the prober's evidence). */
  config: '/config',
} as const;

export const IDENTITY_DIR = '/var/run/acp/identity';
export const CONFIG_DIR = '/etc/acp/config';
export const CONFIG_FILE = 'sidecar.json';
export const IDENTITY_FILES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

/** The trust bundle: one ConfigMap per namespace with policies, key `ca.crt` = every trusted root. */
export const TRUST_BUNDLE_CONFIGMAP = 'acp-trust-bundle';
export const TRUST_BUNDLE_KEY = 'ca.crt';
/** The mesh root CA Secret in the operator's namespace. */
export const CA_SECRET_NAME = 'acp-ca';
/** The webhook serving certificate Secret in the operator's namespace. */
export const WEBHOOK_SERVING_SECRET = 'acp-webhook-serving';
export const MUTATING_WEBHOOK_CONFIGURATION = 'acp-sidecar-injector';
export const VALIDATING_WEBHOOK_CONFIGURATION = 'acp-policy-validator';

/** The webhook's Service in the operator's namespace (DNS SANs of the serving certificate). */
export const WEBHOOK_SERVICE_NAME = 'acp-webhook';
/** HTTP paths of the admission server. */
export const WEBHOOK_PATHS = { inject: '/inject', validatePolicy: '/validate-policy' } as const;
/** Entry names inside the two webhook configurations (fully qualified, as the API requires). */
export const WEBHOOK_NAMES = {
  injectNamespace: 'namespace.inject.acp.dev',
  injectPod: 'pod.inject.acp.dev',
  validatePolicy: 'policy.validate.acp.dev',
} as const;
/** Namespaces the injector never touches (besides the operator's own). */
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-node-lease'] as const;
/** The pod volumes the injector adds: the projected identity (Secret + trust bundle) and the policy's config. */
export const IDENTITY_VOLUME = 'acp-identity';
export const CONFIG_VOLUME = 'acp-config';
/**
 * An empty volume the injector mounts over the sidecar's ServiceAccount
 * token path: the proxy, which parses hostile input, holds no Kubernetes
 * API credential, and the apiserver's ServiceAccount plugin finds the path
 * taken, so it does not change the pod after the webhook (which would make
 * the apiserver call the webhook a second time under reinvocation IfNeeded).
 */
export const API_TOKEN_MASK_VOLUME = 'acp-no-api-token';
/** Where the apiserver's ServiceAccount plugin mounts the API token in every container. */
export const SERVICE_ACCOUNT_TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export const CONDITION_TYPES = [
  'Ready',
  'ConfigReady',
  'CertificatesReady',
  'JWKSReady',
  'Compliant',
  'Verified',
] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export const METRIC_PREFIX = 'acp_';

const MAX_NAME = 253;
const MAX_LABEL_VALUE = 63;

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 10);
}

/** `prefix + name`, or a truncation with a hash suffix when that would exceed `max` (deterministic). */
export function boundedName(prefix: string, name: string, max = MAX_NAME): string {
  const full = `${prefix}${name}`;
  if (full.length <= max) return full;
  const hash = shortHash(name);
  return `${full.slice(0, max - hash.length - 1).replace(/[-.]+$/, '')}-${hash}`;
}

/** A value usable as a label value (<= 63 chars), deterministic. */
export function labelValue(value: string): string {
  return boundedName('', value, MAX_LABEL_VALUE);
}

/** The workload identity Secret of a service account (in the service account's namespace). */
export function identitySecretName(serviceAccount: string): string {
  return boundedName('acp-identity-', serviceAccount);
}

/** The compiled sidecar-config ConfigMap of a policy (in the policy's namespace). */
export function policyConfigMapName(policyName: string): string {
  return boundedName('acp-config-', policyName);
}

/** The NetworkPolicy of a policy (in the policy's namespace). */
export function networkPolicyName(policyName: string): string {
  return boundedName('acp-policy-', policyName);
}

export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

const SPIFFE_WORKLOAD =
  /^spiffe:\/\/([a-z0-9._-]+)\/ns\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/sa\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

/** Parses `spiffe://<td>/ns/<ns>/sa/<sa>`; null for anything else. */
export function parseWorkloadSpiffeId(id: string): WorkloadIdentity | null {
  const m = SPIFFE_WORKLOAD.exec(id);
  if (!m) return null;
  const [, trustDomain = '', namespace = '', , serviceAccount = ''] = m;
  return { trustDomain, namespace, serviceAccount };
}
