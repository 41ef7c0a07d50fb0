// Reading and writing the CA Secrets in the operator's namespace: the
// operator's own root (acp-ca), the prepared next root during a rotation
// (acp-ca-next), a user-named CA Secret, and the persisted CA record
// (ConfigMap acp-ca-state). Thin I/O over the kube client.
import { CA_SECRET_NAME, COMPONENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL } from '@acp/crds';
import {
  isAlreadyExists,
  resourcePath,
  RESOURCES,
  type ConfigMap,
  type KubeClient,
  type Secret,
} from '@acp/kube';
import type { CaSource, IssuedCertificate } from '@acp/pki';
import type { CaRecord } from './ca-state.ts';

export const CA_NEXT_SECRET_NAME = `${CA_SECRET_NAME}-next`;
export const CA_STATE_CONFIGMAP = 'acp-ca-state';
/** Annotate the CA Secret with this (value "requested") to rotate the operator's root. */
export const ROTATE_ANNOTATION = 'acp.dev/rotate-ca';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

export function caSourceOf(secret: Secret): CaSource {
  const rootsPem = unb64(secret.data?.['ca.crt']);
  return {
    certPem: unb64(secret.data?.['tls.crt']),
    keyPem: unb64(secret.data?.['tls.key']),
    ...(rootsPem ? { rootsPem } : {}),
  };
}

export function caSecretBody(
  namespace: string,
  name: string,
  root: Pick<IssuedCertificate, 'certPem' | 'keyPem'>,
  base?: Secret,
): Secret {
  const annotations = Object.fromEntries(
    Object.entries(base?.metadata.annotations ?? {}).filter(([k]) => k !== ROTATE_ANNOTATION),
  );
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      name,
      namespace,
      labels: {
        ...(base?.metadata.labels ?? {}),
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [COMPONENT_LABEL]: 'mesh-ca',
      },
      annotations,
      ...(base?.metadata.resourceVersion ? { resourceVersion: base.metadata.resourceVersion } : {}),
    },
    data: { 'tls.crt': b64(root.certPem), 'tls.key': b64(root.keyPem), 'ca.crt': b64(root.certPem) },
  };
}

export class CaStore {
  private readonly client: KubeClient;
  readonly namespace: string;

  constructor(client: KubeClient, namespace: string) {
    this.client = client;
    this.namespace = namespace;
  }

  secretPath(name?: string): string {
    return resourcePath(RESOURCES.secret, this.namespace, name);
  }

  getSecret(name: string): Promise<Secret | undefined> {
    return this.client.find<Secret>(this.secretPath(name));
  }

  /** Creates the Secret unless it exists; returns what is stored either way (never overwrites). */
  async createOnce(body: Secret): Promise<Secret> {
    try {
      return await this.client.create<Secret>(this.secretPath(), body);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const existing = await this.getSecret(body.metadata.name ?? '');
      if (!existing) throw e;
      return existing;
    }
  }

  replaceSecret(body: Secret): Promise<Secret> {
    return this.client.replace<Secret>(this.secretPath(body.metadata.name), body);
  }

  deleteSecret(name: string): Promise<void> {
    return this.client.delete(this.secretPath(name));
  }

  async readRecord(): Promise<{ json: string | undefined }> {
    const cm = await this.client.find<ConfigMap>(
      resourcePath(RESOURCES.configMap, this.namespace, CA_STATE_CONFIGMAP),
    );
    return { json: cm?.data?.['state.json'] };
  }

  async writeRecord(record: CaRecord): Promise<void> {
    const body: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: CA_STATE_CONFIGMAP,
        namespace: this.namespace,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [COMPONENT_LABEL]: 'mesh-ca' },
      },
      data: { 'state.json': JSON.stringify(record, null, 2) },
    };
    await this.client.apply(
      resourcePath(RESOURCES.configMap, this.namespace, CA_STATE_CONFIGMAP),
      body,
      'acp-operator',
    );
  }
}
