// The sidecar container and its volumes, built as typed objects from the
// injection config and the chosen policy (no text templates). The sidecar
// is a native sidecar: an init container with restartPolicy Always, so it
// starts before the app (gated by its startup probe on /readyz) and does
// not keep Jobs from completing. Its security context passes the
// `restricted` Pod Security Standard. Pure.
import {
  ADMIN_PATHS,
  API_TOKEN_MASK_VOLUME,
  CONFIG_DIR,
  CONFIG_FILE,
  CONFIG_VOLUME,
  IDENTITY_DIR,
  IDENTITY_FILES,
  IDENTITY_VOLUME,
  identitySecretName,
  policyConfigMapName,
  PORT_NAMES,
  PORTS,
  SERVICE_ACCOUNT_TOKEN_DIR,
  SIDECAR_CONTAINER_NAME,
  SIDECAR_MARKER,
  TRUST_BUNDLE_CONFIGMAP,
  TRUST_BUNDLE_KEY,
} from '@acp/crds';
import type { InjectionConfig } from './config.ts';
import type { Container, EnvVar, Volume } from './pod.ts';

/**
 * Files of the identity volume are readable by the sidecar's non-root user
 * without a pod-level fsGroup (which would change the app's file ownership
 * too). Only the sidecar container mounts the volume.
 */
const IDENTITY_FILE_MODE = 0o444;

function probe(path: string, periodSeconds: number, failureThreshold: number): Record<string, unknown> {
  return {
    httpGet: { path, port: PORT_NAMES.admin, scheme: 'HTTP' },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 1,
  };
}

/** A copy of the two quantity maps (structuredClone was a twentieth of an admission's CPU). */
function copyResources(r: InjectionConfig['resources']): InjectionConfig['resources'] {
  const out: InjectionConfig['resources'] = {};
  if (r.requests) out.requests = { ...r.requests };
  if (r.limits) out.limits = { ...r.limits };
  return out;
}

export function sidecarContainer(config: InjectionConfig): Container {
  return {
    name: SIDECAR_CONTAINER_NAME,
    image: config.image,
    imagePullPolicy: config.imagePullPolicy,
    command: [...config.command],
    args: [...config.args],
    restartPolicy: 'Always',
    // The mark that this is the sidecar the webhook injected (not a pod's own container of that name).
    env: [{ ...SIDECAR_MARKER }],
    ports: [
      { name: PORT_NAMES.inbound, containerPort: PORTS.inbound, protocol: 'TCP' },
      { name: PORT_NAMES.admin, containerPort: PORTS.admin, protocol: 'TCP' },
    ],
    resources: copyResources(config.resources),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: config.runAsUser,
      runAsGroup: config.runAsGroup,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    startupProbe: probe(ADMIN_PATHS.readyz, 1, config.startupTimeoutSeconds),
    readinessProbe: probe(ADMIN_PATHS.readyz, 5, 3),
    livenessProbe: probe(ADMIN_PATHS.healthz, 10, 3),
    volumeMounts: [
      { name: IDENTITY_VOLUME, mountPath: IDENTITY_DIR, readOnly: true },
      { name: CONFIG_VOLUME, mountPath: CONFIG_DIR, readOnly: true },
      { name: API_TOKEN_MASK_VOLUME, mountPath: SERVICE_ACCOUNT_TOKEN_DIR, readOnly: true },
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

/** One projected volume: tls.crt + tls.key from the service account's identity Secret, ca.crt from the trust bundle. */
export function identityVolume(serviceAccount: string): Volume {
  return {
    name: IDENTITY_VOLUME,
    projected: {
      defaultMode: IDENTITY_FILE_MODE,
      sources: [
        {
          secret: {
            name: identitySecretName(serviceAccount),
            items: [
              { key: IDENTITY_FILES.cert, path: IDENTITY_FILES.cert },
              { key: IDENTITY_FILES.key, path: IDENTITY_FILES.key },
            ],
          },
        },
        {
          configMap: {
            name: TRUST_BUNDLE_CONFIGMAP,
            items: [{ key: TRUST_BUNDLE_KEY, path: IDENTITY_FILES.ca }],
          },
        },
      ],
    },
  };
}

/** Empty and tiny: mounted over the sidecar's ServiceAccount token path (see API_TOKEN_MASK_VOLUME). */
export function apiTokenMaskVolume(): Volume {
  return { name: API_TOKEN_MASK_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Ki' } };
}

/** The policy's compiled config, mounted as a directory so updates reach the running sidecar. */
export function configVolume(policyName: string): Volume {
  return {
    name: CONFIG_VOLUME,
    configMap: {
      name: policyConfigMapName(policyName),
      items: [{ key: CONFIG_FILE, path: CONFIG_FILE }],
    },
  };
}

const PROXY_URL = `http://127.0.0.1:${PORTS.outbound}`;
/**
 * Loopback, and the Kubernetes API: client-go and most clients dial the
 * API's ClusterIP from KUBERNETES_SERVICE_HOST (the kubelet expands the
 * `$(...)` reference from the service environment it always sets), others
 * its names. The API keeps its own TLS and the app its own token; it is not
 * a mesh destination, so it does not go through the sidecar. Service names
 * (`.svc`) are deliberately NOT listed: those calls must reach the proxy.
 */
const NO_PROXY = [
  'localhost',
  '127.0.0.1',
  '::1',
  '$(KUBERNETES_SERVICE_HOST)',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
].join(',');

/**
 * The app's outbound calls go through the sidecar's proxy: plain HTTP as
 * absolute-form requests (the sidecar originates mTLS to peers), HTTPS as
 * CONNECT tunnels (checked against egress.allow). Loopback stays direct.
 * Both spellings, because curl reads only the lower-case http_proxy; and
 * NODE_USE_ENV_PROXY so Node.js honours them.
 */
export const PROXY_ENV: readonly EnvVar[] = [
  { name: 'HTTP_PROXY', value: PROXY_URL },
  { name: 'http_proxy', value: PROXY_URL },
  { name: 'HTTPS_PROXY', value: PROXY_URL },
  { name: 'https_proxy', value: PROXY_URL },
  { name: 'NO_PROXY', value: NO_PROXY },
  { name: 'no_proxy', value: NO_PROXY },
  // Node.js (22.21+, 24.5+) reads the variables above only when told to; without it a
  // Node app's http/https/fetch calls would bypass the sidecar (and the mesh). Other
  // runtimes ignore it.
  { name: 'NODE_USE_ENV_PROXY', value: '1' },
];

/** Adds the proxy variables the container does not set itself (its own values win). */
export function withProxyEnv(container: Container): Container {
  const env = container.env ?? [];
  const missing = PROXY_ENV.filter((p) => !env.some((e) => e.name === p.name));
  if (missing.length === 0) return container;
  return { ...container, env: [...env, ...missing.map((e) => ({ ...e }))] };
}
