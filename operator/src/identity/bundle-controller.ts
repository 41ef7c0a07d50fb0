// Reconciles the trust bundle of one namespace (key: namespace): every
// namespace with an ApiCompliancePolicy gets ConfigMap acp-trust-bundle
// whose ca.crt holds every currently trusted root; a namespace without
// policies loses it. Written only when the content differs. Also answers
// the CA controller's question "does every bundle hold this root yet?".
import { X509Certificate, createHash } from 'node:crypto';
import {
  COMPONENT_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  TRUST_BUNDLE_CONFIGMAP,
  TRUST_BUNDLE_KEY,
} from '@acp/crds';
import {
  resourcePath,
  RESOURCES,
  type ConfigMap,
  type Informer,
  type KubeClient,
  type Reconciler,
} from '@acp/kube';
import { splitPemCertificates } from '@acp/pki';
import type { CaSnapshot } from './ca-state.ts';
import type { PolicyObject } from './workload-controller.ts';

export const BUNDLE_COMPONENT = 'trust-bundle';

export interface BundleControllerDeps {
  client: KubeClient;
  policies: Informer<PolicyObject>;
  configMaps: Informer<ConfigMap>;
  snapshot: () => CaSnapshot;
}

export function bundleConfigMap(namespace: string, pem: string): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: TRUST_BUNDLE_CONFIGMAP,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [COMPONENT_LABEL]: BUNDLE_COMPONENT },
    },
    data: { [TRUST_BUNDLE_KEY]: pem },
  };
}

const fingerprintCache = new Map<string, string[]>();

/** sha256 fingerprints of the roots in a bundle (memoised by content). */
export function bundleFingerprints(pem: string): string[] {
  const h = createHash('sha256').update(pem).digest('hex');
  let fps = fingerprintCache.get(h);
  if (!fps) {
    fps = splitPemCertificates(pem).flatMap((c) => {
      try {
        return [new X509Certificate(c).fingerprint256];
      } catch {
        return [];
      }
    });
    if (fingerprintCache.size > 1000) fingerprintCache.clear();
    fingerprintCache.set(h, fps);
  }
  return fps;
}

export function namespacesWithPolicies(policies: Informer<PolicyObject>): Set<string> {
  return new Set(policies.list().map((p) => p.metadata.namespace ?? ''));
}

export function allBundlesHold(
  deps: Pick<BundleControllerDeps, 'policies' | 'configMaps'>,
  fingerprint: string,
): boolean {
  for (const ns of namespacesWithPolicies(deps.policies)) {
    const cm = deps.configMaps.get(ns, TRUST_BUNDLE_CONFIGMAP);
    if (!cm || !bundleFingerprints(cm.data?.[TRUST_BUNDLE_KEY] ?? '').includes(fingerprint)) return false;
  }
  return true;
}

export function bundleReconciler(deps: BundleControllerDeps): Reconciler {
  return async (namespace) => {
    const snapshot = deps.snapshot();
    const path = resourcePath(RESOURCES.configMap, namespace, TRUST_BUNDLE_CONFIGMAP);
    const existing = deps.configMaps.get(namespace, TRUST_BUNDLE_CONFIGMAP);
    const wanted = deps.policies.list(namespace).length > 0;
    if (!wanted) {
      if (existing?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) await deps.client.delete(path);
      return undefined;
    }
    // Without a CA there is nothing to trust yet; never empty a bundle that has roots.
    if (snapshot.bundleRootsPem.length === 0) return undefined;
    const pem = snapshot.bundleRootsPem.join('');
    if (existing?.data?.[TRUST_BUNDLE_KEY] === pem) return undefined;
    await deps.client.apply(path, bundleConfigMap(namespace, pem), 'acp-operator');
    return undefined;
  };
}
