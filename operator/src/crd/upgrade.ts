// Keeps the served ApiCompliancePolicy CRD at the schema this operator
// ships. Helm installs a chart's crds/ once and never upgrades them, so after
// `helm upgrade` the leader server-side-applies the CRD from its own image
// (crds/manifests/, the source of truth) when the served one differs. It
// never downgrades: a CRD applied by a newer operator (after `helm rollback`)
// is left as it is, since newer schemas only add fields. The decision is
// pure (planCrdUpgrade); ensureCrd does the one GET and, when needed, the one
// PATCH. Needs only get/patch on this one CRD (the chart's RBAC). See
// charts/api-compliance-operator/README.md, "Upgrades".
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { parse } from 'yaml';
import { CRD_MANIFEST_URL, CRD_NAME } from '@acp/crds';
import type { KubeClient } from '../kube/client.ts';

export const SPEC_HASH_ANNOTATION = 'acp.dev/crd-spec-sha256';
export const VERSION_ANNOTATION = 'acp.dev/operator-version';
const FIELD_MANAGER = 'acp-operator-crd';
const PATH = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`;

interface Crd {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: unknown;
}

export type CrdPlan =
  | { action: 'none'; reason: 'up-to-date' }
  | { action: 'skip'; reason: 'newer-served' | 'disabled'; served?: string }
  | { action: 'apply'; reason: 'missing' | 'unmarked' | 'changed'; body: Crd };

/** `1.2.10` > `1.2.9`; anything that is not dotted numbers (e.g. `dev`) compares as older than every release. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string): number[] | undefined =>
    /^\d+(\.\d+)*$/.test(v) ? v.split('.').map(Number) : undefined;
  const pa = parts(a);
  const pb = parts(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : 0;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export function specHash(spec: unknown): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
}

/** What to do with the served CRD, given the one this operator ships and its version. */
export function planCrdUpgrade(served: Crd | undefined, shipped: Crd, version: string): CrdPlan {
  const hash = specHash(shipped.spec);
  const body: Crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      ...shipped.metadata,
      name: CRD_NAME,
      annotations: {
        ...shipped.metadata?.annotations,
        [SPEC_HASH_ANNOTATION]: hash,
        [VERSION_ANNOTATION]: version,
      },
    },
    spec: shipped.spec,
  };
  if (!served) return { action: 'apply', reason: 'missing', body };
  const annotations = served.metadata?.annotations ?? {};
  const servedHash = annotations[SPEC_HASH_ANNOTATION];
  const servedVersion = annotations[VERSION_ANNOTATION];
  if (servedHash === hash) return { action: 'none', reason: 'up-to-date' };
  if (servedVersion !== undefined && compareVersions(servedVersion, version) > 0) {
    return { action: 'skip', reason: 'newer-served', served: servedVersion };
  }
  return { action: 'apply', reason: servedHash === undefined ? 'unmarked' : 'changed', body };
}

export async function readShippedCrd(url: URL = CRD_MANIFEST_URL): Promise<Crd> {
  return parse(await readFile(url, 'utf8')) as Crd;
}

/** One GET, and one server-side apply when the plan says so. Errors are logged and returned, never thrown. */
export async function ensureCrd(deps: {
  client: KubeClient;
  logger: Logger;
  version: string;
  shipped?: Crd;
}): Promise<CrdPlan | Error> {
  try {
    const shipped = deps.shipped ?? (await readShippedCrd());
    const served = await deps.client.find<Crd>(PATH);
    const plan = planCrdUpgrade(served, shipped, deps.version);
    if (plan.action === 'apply') {
      await deps.client.apply(PATH, plan.body, FIELD_MANAGER, true);
      deps.logger.info(
        { crd: CRD_NAME, reason: plan.reason, version: deps.version },
        'CRD upgraded to the schema this operator ships',
      );
    } else if (plan.action === 'skip') {
      deps.logger.warn(
        { crd: CRD_NAME, served: plan.served, version: deps.version },
        'the served CRD comes from a newer operator; left as it is',
      );
    }
    return plan;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    deps.logger.error(
      { crd: CRD_NAME, err: err.message },
      'could not check or upgrade the CRD; policies keep the served schema',
    );
    return err;
  }
}
