import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiCompliancePolicy } from '@acp/crds';
import type { Pod } from '@acp/kube';
import { identityDemand } from './demand.ts';

const pod = (name: string, labels: Record<string, string>, sa?: string, extra: Partial<Pod> = {}): Pod => ({
  metadata: { name, namespace: 'shop', labels },
  spec: sa ? { serviceAccountName: sa } : {},
  ...extra,
});
const policy = (
  name: string,
  created: string,
  app: string,
  certificates?: Record<string, string>,
): ApiCompliancePolicy => ({
  apiVersion: 'compliance.acp.dev/v1alpha1',
  kind: 'ApiCompliancePolicy',
  metadata: { name, namespace: 'shop', creationTimestamp: created },
  spec: {
    selector: { matchLabels: { app } },
    upstream: { port: 8080 },
    ...(certificates ? { certificates } : {}),
  },
});

describe('identityDemand', () => {
  it('needs one identity per service account with selected pods', () => {
    const d = identityDemand(
      'shop',
      [
        pod('a', { app: 'pay' }, 'checkout'),
        pod('b', { app: 'pay' }, 'checkout'),
        pod('c', { app: 'web' }, 'web'),
      ],
      [policy('p', '2026-01-01T00:00:00Z', 'pay')],
    );
    assert.deepEqual([...d.keys()], ['checkout']);
    assert.equal(d.get('checkout')?.pods, 2);
  });
  it('uses the default service account when the pod names none', () => {
    const d = identityDemand(
      'shop',
      [pod('a', { app: 'pay' })],
      [policy('p', '2026-01-01T00:00:00Z', 'pay')],
    );
    assert.deepEqual([...d.keys()], ['default']);
  });
  it('ignores finished and terminating pods', () => {
    const d = identityDemand(
      'shop',
      [
        pod('a', { app: 'pay' }, 'done', { status: { phase: 'Succeeded' } }),
        pod('b', { app: 'pay' }, 'gone', {
          metadata: {
            name: 'b',
            namespace: 'shop',
            labels: { app: 'pay' },
            deletionTimestamp: '2026-01-01T00:00:00Z',
          },
        }),
      ],
      [policy('p', '2026-01-01T00:00:00Z', 'pay')],
    );
    assert.equal(d.size, 0);
  });
  it('takes the settings of the oldest policy when several select pods of one service account', () => {
    const d = identityDemand(
      'shop',
      [pod('a', { app: 'pay' }, 'sa'), pod('b', { app: 'web' }, 'sa')],
      [
        policy('new', '2026-02-01T00:00:00Z', 'pay', { keyAlgorithm: 'RSA-2048', lifetime: '1h' }),
        policy('old', '2026-01-01T00:00:00Z', 'web', { keyAlgorithm: 'ECDSA-P384', lifetime: '2h' }),
      ],
    );
    const sa = d.get('sa');
    assert.deepEqual(sa?.policies, ['old', 'new']);
    assert.equal(sa?.settings.keyAlgorithm, 'ECDSA-P384');
    assert.equal(sa?.settings.lifetimeMs, 7_200_000);
  });
  it('defaults renewBefore to a third of the lifetime', () => {
    const d = identityDemand(
      'shop',
      [pod('a', { app: 'pay' }, 'sa')],
      [policy('p', '2026-01-01T00:00:00Z', 'pay', { lifetime: '3h' })],
    );
    assert.equal(d.get('sa')?.settings.renewBeforeMs, 3_600_000);
  });
});
