// The slice of the Pod API the injector reads and writes, typed
// structurally over the JSON of an AdmissionReview (timestamps are
// strings, unknown fields pass through untouched). No I/O.

export interface EnvVar {
  name: string;
  value?: string;
  [field: string]: unknown;
}

export interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol?: string;
  hostPort?: number;
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  env?: EnvVar[] | null;
  ports?: ContainerPort[] | null;
  restartPolicy?: string;
  [field: string]: unknown;
}

export interface Volume {
  name: string;
  [field: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[] | null;
  volumes?: Volume[] | null;
  hostNetwork?: boolean;
  serviceAccountName?: string;
  [field: string]: unknown;
}

export interface PodMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  managedFields?: unknown[] | null;
  [field: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: PodMeta;
  spec: PodSpec;
  [field: string]: unknown;
}

/** `name` or `generateName*` or `(unnamed)`: for logs and messages. */
export function podDisplayName(pod: Pod): string {
  const m = pod.metadata;
  if (m?.name) return m.name;
  if (m?.generateName) return `${m.generateName}*`;
  return '(unnamed)';
}

/** Every container of the pod: init containers first, then app containers. */
export function allContainers(pod: Pod): Container[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
}
