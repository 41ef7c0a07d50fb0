// The injector's settings that come from the Helm chart's `sidecar:`
// values (image, resources, user, command), parsed and checked by a pure
// function from a plain object (a YAML/JSON file's content).
import { AcpError, CONFIG_DIR, CONFIG_FILE, IDENTITY_DIR } from '@acp/crds';

export interface ResourceRequirements {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface InjectionConfig {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Written to the status annotation: the version of the sidecar injected. */
  sidecarVersion: string;
  command: string[];
  args: string[];
  resources: ResourceRequirements;
  /** Non-root user and group the sidecar runs as (the image's numeric user). */
  runAsUser: number;
  runAsGroup: number;
  /** Set HTTP(S)_PROXY/NO_PROXY on the app containers so their calls go through the sidecar. */
  proxyEnv: boolean;
  /** Seconds the startup probe allows the sidecar to become ready. */
  startupTimeoutSeconds: number;
}

export const DEFAULT_INJECTION_CONFIG: InjectionConfig = {
  image: 'ghcr.io/acp-dev/api-compliance-operator:0.1.0',
  imagePullPolicy: 'IfNotPresent',
  sidecarVersion: '0.1.0',
  // --max-semi-space-size=4: under the container's memory limit V8 picks a
  // 1 MB young generation and spends ~17% of the CPU in scavenges at full
  // load (CPU profile, test/bench/sidecar); 4 MB semi-spaces cost ~8 MB and
  // keep the anonymous RSS near 55 MB.
  command: ['node', '--max-semi-space-size=4', 'sidecar/src/main.js'], // the image runs the built JavaScript
  args: ['--config', `${CONFIG_DIR}/${CONFIG_FILE}`, '--identity-dir', IDENTITY_DIR],
  // The limit leaves headroom over the ~55 MB the sidecar uses at full load: at 96Mi it was
  // OOM-killed once (anonymous RSS 94 MB during a burst of new TLS connections on a starved CPU).
  resources: { requests: { cpu: '50m', memory: '48Mi' }, limits: { memory: '128Mi' } },
  runAsUser: 65532,
  runAsGroup: 65532,
  proxyEnv: true,
  startupTimeoutSeconds: 60,
};

const bad = (message: string): AcpError => new AcpError('ACP_ERR_WEBHOOK_CONFIG', message);

function strings(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw bad(`${field} must be a list of strings`);
  }
  return value;
}

function quantities(value: unknown, field: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw bad(`${field} must be a map`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string' && typeof v !== 'number') throw bad(`${field}.${k} must be a quantity`);
    out[k] = String(v);
  }
  return out;
}

function resources(value: unknown): ResourceRequirements {
  if (value === undefined) return DEFAULT_INJECTION_CONFIG.resources;
  if (typeof value !== 'object' || value === null) throw bad('resources must be a map');
  const r = value as Record<string, unknown>;
  const out: ResourceRequirements = {};
  const requests = quantities(r['requests'], 'resources.requests');
  const limits = quantities(r['limits'], 'resources.limits');
  if (requests) out.requests = requests;
  if (limits) out.limits = limits;
  return out;
}

function id(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1)
    throw bad(`${field} must be a non-root uid/gid (>= 1)`);
  return value as number;
}

/** Parses the injection settings; missing fields take the defaults, wrong ones throw ACP_ERR_WEBHOOK_CONFIG. */
export function parseInjectionConfig(input: unknown): InjectionConfig {
  if (input === undefined || input === null) return DEFAULT_INJECTION_CONFIG;
  if (typeof input !== 'object' || Array.isArray(input)) throw bad('the injection config must be a map');
  const o = input as Record<string, unknown>;
  const d = DEFAULT_INJECTION_CONFIG;
  const pull = o['imagePullPolicy'] ?? d.imagePullPolicy;
  if (pull !== 'Always' && pull !== 'IfNotPresent' && pull !== 'Never') {
    throw bad('imagePullPolicy must be Always, IfNotPresent or Never');
  }
  const str = (k: string, fallback: string): string => {
    const v = o[k] ?? fallback;
    if (typeof v !== 'string' || v === '') throw bad(`${k} must be a non-empty string`);
    return v;
  };
  const startup = o['startupTimeoutSeconds'] ?? d.startupTimeoutSeconds;
  if (!Number.isInteger(startup) || (startup as number) < 1) throw bad('startupTimeoutSeconds must be >= 1');
  return {
    image: str('image', d.image),
    imagePullPolicy: pull,
    sidecarVersion: str('sidecarVersion', d.sidecarVersion),
    command: o['command'] === undefined ? d.command : strings(o['command'], 'command'),
    args: o['args'] === undefined ? d.args : strings(o['args'], 'args'),
    resources: resources(o['resources']),
    runAsUser: id(o['runAsUser'], 'runAsUser', d.runAsUser),
    runAsGroup: id(o['runAsGroup'], 'runAsGroup', d.runAsGroup),
    proxyEnv: typeof o['proxyEnv'] === 'boolean' ? o['proxyEnv'] : d.proxyEnv,
    startupTimeoutSeconds: startup as number,
  };
}
