// The CertStore on a real cluster: the serving Secret in the webhook's
// namespace (create, or replace with its resourceVersion: optimistic
// concurrency between replicas) and the caBundle of every entry of the
// named Mutating/ValidatingWebhookConfigurations (read-modify-replace with
// resourceVersion). Only caBundle is written: the rest of the
// configurations belongs to the chart (GitOps: ignore caBundle diffs).
import { AcpError } from '@acp/crds';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { StoredSecret } from './codec.ts';
import type { CertStore } from './manager.ts';

export interface K8sStoreOptions {
  kc: KubeConfig;
  namespace: string;
  secretName: string;
  mutatingConfigurations: readonly string[];
  validatingConfigurations: readonly string[];
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

function status(e: unknown): number | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

type AnyConfiguration = V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration;

export function createK8sCertStore(o: K8sStoreOptions): CertStore {
  const core = o.kc.makeApiClient(CoreV1Api);
  const admission = o.kc.makeApiClient(AdmissionregistrationV1Api);

  const configurations = async (): Promise<
    { kind: 'mutating' | 'validating'; config: AnyConfiguration }[]
  > => {
    const m = o.mutatingConfigurations.map(async (name) => ({
      kind: 'mutating' as const,
      config: await admission.readMutatingWebhookConfiguration({ name }),
    }));
    const v = o.validatingConfigurations.map(async (name) => ({
      kind: 'validating' as const,
      config: await admission.readValidatingWebhookConfiguration({ name }),
    }));
    return Promise.all([...m, ...v]);
  };

  return {
    async readSecret() {
      try {
        const s = await core.readNamespacedSecret({ name: o.secretName, namespace: o.namespace });
        const data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, unb64(v)]));
        const out: StoredSecret = { data, annotations: { ...(s.metadata?.annotations ?? {}) } };
        if (s.metadata?.resourceVersion) out.resourceVersion = s.metadata.resourceVersion;
        return out;
      } catch (e) {
        if (status(e) === 404) return undefined;
        throw e;
      }
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
          ? await core.replaceNamespacedSecret({ name: o.secretName, namespace: o.namespace, body })
          : await core.createNamespacedSecret({ namespace: o.namespace, body });
        const out: StoredSecret = { data: { ...secret.data }, annotations: { ...secret.annotations } };
        if (written.metadata?.resourceVersion) out.resourceVersion = written.metadata.resourceVersion;
        return out;
      } catch (e) {
        if (status(e) === 409)
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
      for (const { kind, config } of await configurations()) {
        const hooks = config.webhooks ?? [];
        if (hooks.every((w) => unb64(w.clientConfig.caBundle ?? '') === pem)) continue;
        for (const w of hooks) w.clientConfig.caBundle = b64(pem);
        const name = config.metadata?.name ?? '';
        if (kind === 'mutating') {
          await admission.replaceMutatingWebhookConfiguration({
            name,
            body: config,
          });
        } else {
          await admission.replaceValidatingWebhookConfiguration({
            name,
            body: config,
          });
        }
      }
    },
  };
}
