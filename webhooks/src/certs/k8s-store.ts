// The CertStore on a real cluster: the serving Secret in the webhook's
// namespace (create, or replace with its resourceVersion: optimistic
// concurrency between replicas) and the caBundle of every entry of the
// named Mutating/ValidatingWebhookConfigurations (read-modify-replace with
// resourceVersion). Only caBundle is written: the rest of the
// configurations belongs to the chart (GitOps: ignore caBundle diffs).
import { AcpError } from '@acp/crds';
import {
  isConflict,
  RESOURCES,
  resourcePath,
  type KubeClient,
  type Secret,
  type WebhookConfiguration,
} from '@acp/kube';
import type { StoredSecret } from './codec.ts';
import type { CertStore } from './manager.ts';

export interface K8sStoreOptions {
  client: KubeClient;
  namespace: string;
  secretName: string;
  mutatingConfigurations: readonly string[];
  validatingConfigurations: readonly string[];
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

export function createK8sCertStore(o: K8sStoreOptions): CertStore {
  const secretPath = (name?: string): string => resourcePath(RESOURCES.secret, o.namespace, name);
  const paths = [
    ...o.mutatingConfigurations.map((n) =>
      resourcePath(RESOURCES.mutatingWebhookConfiguration, undefined, n),
    ),
    ...o.validatingConfigurations.map((n) =>
      resourcePath(RESOURCES.validatingWebhookConfiguration, undefined, n),
    ),
  ];
  const configurations = (): Promise<{ path: string; config: WebhookConfiguration }[]> =>
    Promise.all(
      paths.map(async (path) => ({ path, config: await o.client.get<WebhookConfiguration>(path) })),
    );

  return {
    async readSecret() {
      const s = await o.client.find<Secret>(secretPath(o.secretName));
      if (!s) return undefined;
      const data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, unb64(v)]));
      const out: StoredSecret = { data, annotations: { ...(s.metadata.annotations ?? {}) } };
      if (s.metadata.resourceVersion) out.resourceVersion = s.metadata.resourceVersion;
      return out;
    },

    async writeSecret(secret) {
      const body = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: {
          name: o.secretName,
          namespace: o.namespace,
          annotations: secret.annotations,
          labels: { 'app.kubernetes.io/component': 'webhook', 'app.kubernetes.io/managed-by': 'acp-webhook' },
          ...(secret.resourceVersion ? { resourceVersion: secret.resourceVersion } : {}),
        },
        data: Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, b64(v)])),
      };
      try {
        const written = secret.resourceVersion
          ? await o.client.replace<Secret>(secretPath(o.secretName), body)
          : await o.client.create<Secret>(secretPath(), body);
        const out: StoredSecret = { data: { ...secret.data }, annotations: { ...secret.annotations } };
        if (written.metadata.resourceVersion) out.resourceVersion = written.metadata.resourceVersion;
        return out;
      } catch (e) {
        if (isConflict(e))
          throw new AcpError('ACP_ERR_CONFLICT', `Secret ${o.namespace}/${o.secretName} changed meanwhile`);
        throw e;
      }
    },

    async readBundles() {
      const all = await configurations();
      return all.flatMap(({ config }) =>
        (config.webhooks ?? []).map((w) => unb64(w.clientConfig.caBundle ?? '')),
      );
    },

    async writeBundles(pem) {
      for (const { path, config } of await configurations()) {
        const hooks = config.webhooks ?? [];
        if (hooks.every((w) => unb64(w.clientConfig.caBundle ?? '') === pem)) continue;
        for (const w of hooks) w.clientConfig.caBundle = b64(pem);
        await o.client.replace(path, config);
      }
    },
  };
}
