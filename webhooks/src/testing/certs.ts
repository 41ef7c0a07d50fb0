// A throwaway CA and a serving certificate for 127.0.0.1, for tests and
// the benchmark's server (the webhook itself gets its own from the
// certificate manager).
import { createRootCa, createSigner } from '@acp/pki';
import type { ServingCertificate } from '../certs/manager.ts';

export async function loopbackCertificate(
  lifetimeMs = 86_400_000,
): Promise<ServingCertificate & { caPem: string }> {
  const now = new Date();
  const root = await createRootCa({ commonName: 'acp-test-ca', keyAlgorithm: 'ECDSA-P256', lifetimeMs, now });
  const leaf = await createSigner(root.certPem, root.keyPem).issue({
    ipSans: ['127.0.0.1'],
    keyAlgorithm: 'ECDSA-P256',
    lifetimeMs,
    backdateMs: 60_000,
    usages: ['serverAuth'],
    now,
  });
  return { certPem: leaf.certPem, keyPem: leaf.keyPem, caPem: root.certPem };
}
