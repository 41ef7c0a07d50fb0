// Builds the identity Secret of a workload from a freshly issued
// certificate: one object, written in one request (tls.crt = leaf + chain,
// tls.key, ca.crt = the trust bundle at issuance), with annotations that
// record what was asked for. Deterministic name per service account. Pure.
import {
  COMPONENT_LABEL,
  identitySecretName,
  labelValue,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  SERVICE_ACCOUNT_LABEL,
} from '@acp/crds';
import type { IssuedCertificate } from '@acp/pki';
import type { Secret } from '@acp/kube';
import type { CertSettings } from './demand.ts';
import { ANNOTATIONS } from './inspect.ts';
import { renewAt } from './plan.ts';

export const IDENTITY_COMPONENT = 'workload-identity';

export interface SecretInput {
  namespace: string;
  serviceAccount: string;
  spiffeId: string;
  issued: IssuedCertificate;
  chainPem: readonly string[];
  bundlePem: string;
  settings: CertSettings;
  issuerFingerprint: string;
  /** Set when replacing an existing Secret (optimistic concurrency). */
  resourceVersion?: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

export function identitySecret(i: SecretInput): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      name: identitySecretName(i.serviceAccount),
      namespace: i.namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [COMPONENT_LABEL]: IDENTITY_COMPONENT,
        [SERVICE_ACCOUNT_LABEL]: labelValue(i.serviceAccount),
      },
      annotations: {
        [ANNOTATIONS.spiffeId]: i.spiffeId,
        [ANNOTATIONS.serial]: i.issued.serialNumber,
        [ANNOTATIONS.notAfter]: i.issued.notAfter.toISOString(),
        [ANNOTATIONS.renewAt]: renewAt(
          i.issued.notAfter,
          i.issued.serialNumber,
          i.settings.renewBeforeMs,
        ).toISOString(),
        [ANNOTATIONS.keyAlgorithm]: i.settings.keyAlgorithm,
        [ANNOTATIONS.lifetime]: String(i.settings.lifetimeMs),
        [ANNOTATIONS.renewBefore]: String(i.settings.renewBeforeMs),
        [ANNOTATIONS.issuer]: i.issuerFingerprint,
      },
      ...(i.resourceVersion ? { resourceVersion: i.resourceVersion } : {}),
    },
    data: {
      'tls.crt': b64(i.issued.certPem + i.chainPem.join('')),
      'tls.key': b64(i.issued.keyPem),
      'ca.crt': b64(i.bundlePem),
    },
  };
}
