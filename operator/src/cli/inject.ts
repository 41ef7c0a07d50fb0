// `acp inject`: what the injection webhook would do to the workloads of a
// file, offline (like `istioctl kube-inject`). The pod (or the pod
// template of a Deployment, StatefulSet, DaemonSet, Job, CronJob or
// ReplicaSet) goes through the webhook's own decide + mutate code
// (@acp/webhooks/inject: mutatePod), never a copy, and comes back as the
// webhook would store it: injected, annotated with the skip reason, or
// untouched. Other documents pass through. Pure: documents in, documents
// and one report line per workload out.
import { INJECTION_ENABLED, INJECTION_LABEL, SYSTEM_NAMESPACES, type LabelSelector } from '@acp/crds';
import {
  mutatePod,
  toPolicyRef,
  type InjectDeps,
  type InjectionConfig,
  type Pod,
  type PodMutation,
  type PolicyRef,
} from '@acp/webhooks/inject';
import { isPolicyDocument, isRecord, type SourcedDocument } from './documents.ts';

/** Where the pod template sits in each workload kind ([] = the document is the pod). */
export const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** The policy `inject` assumes when it is given none: selects every pod of the workload's namespace. */
export const ASSUMED_POLICY = 'assumed-policy';

export interface InjectOptions {
  config: InjectionConfig;
  /** The namespace of documents that name none. */
  namespace: string;
  /** Never injected (besides kube-system and kube-node-lease). */
  operatorNamespace: string;
  /** ApiCompliancePolicy and Namespace documents from --policy files (those in the input count too). */
  context: readonly SourcedDocument[];
}

export type WorkloadOutcome = PodMutation['outcome'] | { kind: 'error'; message: string };

export interface WorkloadReport {
  source: string;
  /** Kind namespace/name. */
  workload: string;
  outcome: WorkloadOutcome;
  warnings: string[];
}

export interface InjectResult {
  /** Every input document, workloads as the webhook would leave their pods. */
  documents: Record<string, unknown>[];
  reports: WorkloadReport[];
  /** What was assumed for lack of input (no policy, no Namespace document). */
  notes: string[];
}

const metaOf = (v: Record<string, unknown>): Record<string, unknown> =>
  isRecord(v['metadata']) ? v['metadata'] : {};
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function getIn(value: Record<string, unknown>, path: readonly string[]): unknown {
  let cur: unknown = value;
  for (const key of path) cur = isRecord(cur) ? cur[key] : undefined;
  return cur;
}

/** A copy of `value` with `path` set to `next`; every object along the path is copied, the rest shared. */
function setIn(
  value: Record<string, unknown>,
  path: readonly string[],
  next: unknown,
): Record<string, unknown> {
  const [key, ...rest] = path;
  if (key === undefined) return next as Record<string, unknown>;
  const child = isRecord(value[key]) ? value[key] : {};
  return { ...value, [key]: rest.length === 0 ? next : setIn(child, rest, next) };
}

/** The template as the Pod the workload's controller would create (what the webhook sees). */
function podOf(template: unknown): Pod | string {
  if (!isRecord(template) || !isRecord(template['spec'])) return 'no pod template (spec) found';
  const containers = template['spec']['containers'];
  if (!Array.isArray(containers) || !containers.every((c) => isRecord(c) && typeof c['name'] === 'string')) {
    return 'the pod has no valid spec.containers';
  }
  const metadata = template['metadata'];
  if (metadata !== undefined && metadata !== null && !isRecord(metadata))
    return 'the pod has invalid metadata';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    ...(isRecord(metadata) ? { metadata } : {}),
    spec: template['spec'] as Pod['spec'],
  };
}

/** The pod's metadata and spec put back into the template (a Pod document is replaced whole). */
function withPod(doc: Record<string, unknown>, path: readonly string[], pod: Pod): Record<string, unknown> {
  if (path.length === 0) return pod;
  const template = getIn(doc, path);
  const base = isRecord(template) ? template : {};
  const { metadata, spec } = pod;
  return setIn(doc, path, { ...base, ...(metadata ? { metadata } : {}), spec });
}

/** The webhook decides without managedFields and its patch leaves them: so does the output. */
function keepManagedFields(input: Pod, mutated: Pod): Pod {
  const managedFields = input.metadata?.managedFields;
  if (managedFields === undefined) return mutated;
  return { ...mutated, metadata: { ...mutated.metadata, managedFields } };
}

interface Cluster {
  policiesIn(namespace: string): PolicyRef[];
  namespaceLabels(namespace: string): Record<string, string>;
  notes: string[];
}

const anyPod: LabelSelector = {};

/** The policies and namespaces the documents describe, and what is assumed where they say nothing. */
function clusterOf(documents: readonly SourcedDocument[], defaultNamespace: string): Cluster {
  const policies: { namespace: string; ref: PolicyRef }[] = [];
  const namespaces = new Map<string, Record<string, string>>();
  for (const { value } of documents) {
    const meta = metaOf(value);
    if (isPolicyDocument(value)) {
      const ref = toPolicyRef(value);
      if (ref) policies.push({ namespace: str(meta['namespace']) ?? defaultNamespace, ref });
    } else if (value['kind'] === 'Namespace' && value['apiVersion'] === 'v1' && str(meta['name'])) {
      const labels = isRecord(meta['labels']) ? meta['labels'] : {};
      namespaces.set(meta['name'] as string, labels as Record<string, string>);
    }
  }
  const notes: string[] = [];
  const assumed = new Set<string>();
  if (policies.length === 0) {
    notes.push(
      `no ApiCompliancePolicy given (--policy FILE): injected as if a policy named ${ASSUMED_POLICY} selected every pod of its namespace`,
    );
  }
  return {
    policiesIn: (ns) =>
      policies.length === 0
        ? [{ name: ASSUMED_POLICY, creationTimestamp: undefined, selector: anyPod }]
        : policies.filter((p) => p.namespace === ns).map((p) => p.ref),
    namespaceLabels: (ns) => {
      const labels = namespaces.get(ns);
      if (labels) return labels;
      if (!assumed.has(ns)) {
        assumed.add(ns);
        notes.push(
          `no Namespace document for ${ns}: assumed labelled ${INJECTION_LABEL}=${INJECTION_ENABLED}`,
        );
      }
      return { [INJECTION_LABEL]: INJECTION_ENABLED };
    },
    notes,
  };
}

/** One document: a workload as the webhook would leave its pod (with its report), anything else as it is. */
function injectOne(
  source: string,
  value: Record<string, unknown>,
  deps: InjectDeps,
  defaultNamespace: string,
): { document: Record<string, unknown>; report?: WorkloadReport } {
  const kind = str(value['kind']);
  const path = kind === undefined ? undefined : POD_TEMPLATE_PATHS[kind];
  if (path === undefined || (kind === 'Pod' && value['apiVersion'] !== 'v1')) return { document: value };
  const meta = metaOf(value);
  const namespace = str(meta['namespace']) ?? defaultNamespace;
  const workload = `${kind} ${namespace}/${str(meta['name']) ?? str(meta['generateName']) ?? '(unnamed)'}`;
  const pod = podOf(path.length === 0 ? value : getIn(value, path));
  if (typeof pod === 'string') {
    return {
      document: value,
      report: { source, workload, outcome: { kind: 'error', message: pod }, warnings: [] },
    };
  }
  const m = mutatePod(pod, namespace, 'CREATE', deps);
  return {
    document: m.mutated === m.original ? value : withPod(value, path, keepManagedFields(pod, m.mutated)),
    report: { source, workload, outcome: m.outcome, warnings: m.warnings },
  };
}

/** Runs the webhook's decision and mutation on every workload of the documents (and of v1 Lists among them). */
export function injectDocuments(documents: readonly SourcedDocument[], options: InjectOptions): InjectResult {
  const cluster = clusterOf([...documents, ...options.context], options.namespace);
  const deps = {
    config: options.config,
    excludedNamespaces: new Set<string>([...SYSTEM_NAMESPACES, options.operatorNamespace]),
    policiesIn: (ns: string) => cluster.policiesIn(ns),
    namespaceLabels: (ns: string) => cluster.namespaceLabels(ns),
  };
  const out: InjectResult = { documents: [], reports: [], notes: cluster.notes };
  const one = (source: string, value: Record<string, unknown>): Record<string, unknown> => {
    const r = injectOne(source, value, deps, options.namespace);
    if (r.report) out.reports.push(r.report);
    return r.document;
  };
  for (const { source, value } of documents) {
    // kubectl get -o yaml of several objects gives a v1 List: its items are the documents.
    const items: unknown[] | undefined =
      value['kind'] === 'List' && Array.isArray(value['items']) ? value['items'] : undefined;
    out.documents.push(
      items
        ? { ...value, items: items.map((item, i) => (isRecord(item) ? one(`${source}[${i}]`, item) : item)) }
        : one(source, value),
    );
  }
  return out;
}

/** One line per workload for stderr: injected with which policy, or the skip reason code and why. */
export function formatInjectReport(r: WorkloadReport): string {
  const head = `${r.source}: ${r.workload}`;
  const o = r.outcome;
  const line =
    o.kind === 'injected'
      ? `${head}: injected (policy ${o.policy})`
      : o.kind === 'skipped'
        ? `${head}: skipped: ${o.reason} (${o.message})`
        : `${head}: error: ${o.message}`;
  return [line, ...r.warnings.map((w) => `${head}: warning: ${w}`)].join('\n');
}
