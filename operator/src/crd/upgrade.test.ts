import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareVersions,
  planCrdUpgrade,
  specHash,
  SPEC_HASH_ANNOTATION,
  VERSION_ANNOTATION,
} from './upgrade.ts';

const shipped = { metadata: { name: 'x', labels: { a: 'b' } }, spec: { group: 'compliance.acp.dev', v: 2 } };
const served = (
  annotations?: Record<string, string>,
  spec: unknown = { group: 'compliance.acp.dev', v: 1 },
) => ({
  metadata: { name: 'x', ...(annotations ? { annotations } : {}) },
  spec,
});

describe('planCrdUpgrade', () => {
  const cases: {
    name: string;
    served: ReturnType<typeof served> | undefined;
    version: string;
    action: string;
    reason: string;
  }[] = [
    {
      name: 'applies the shipped CRD when none is served',
      served: undefined,
      version: '0.2.0',
      action: 'apply',
      reason: 'missing',
    },
    {
      name: 'applies once over a CRD that helm install created (no hash annotation)',
      served: served(),
      version: '0.2.0',
      action: 'apply',
      reason: 'unmarked',
    },
    {
      name: 'does nothing when the served schema is the shipped one',
      served: served({ [SPEC_HASH_ANNOTATION]: specHash(shipped.spec), [VERSION_ANNOTATION]: '0.2.0' }),
      version: '0.2.0',
      action: 'none',
      reason: 'up-to-date',
    },
    {
      name: 'upgrades a CRD an older operator applied',
      served: served({ [SPEC_HASH_ANNOTATION]: 'old', [VERSION_ANNOTATION]: '0.1.0' }),
      version: '0.2.0',
      action: 'apply',
      reason: 'changed',
    },
    {
      name: 'never downgrades a CRD a newer operator applied (after helm rollback)',
      served: served({ [SPEC_HASH_ANNOTATION]: 'new', [VERSION_ANNOTATION]: '0.10.0' }),
      version: '0.9.0',
      action: 'skip',
      reason: 'newer-served',
    },
    {
      name: 'lets a development build (version dev) follow its own schema',
      served: served({ [SPEC_HASH_ANNOTATION]: 'other', [VERSION_ANNOTATION]: 'dev' }),
      version: 'dev',
      action: 'apply',
      reason: 'changed',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planCrdUpgrade(c.served, shipped, c.version);
      assert.deepEqual([plan.action, plan.reason], [c.action, c.reason]);
      if (plan.action === 'apply') {
        assert.equal(plan.body.metadata?.annotations?.[SPEC_HASH_ANNOTATION], specHash(shipped.spec));
        assert.equal(plan.body.metadata?.annotations?.[VERSION_ANNOTATION], c.version);
        assert.deepEqual(plan.body.metadata?.labels, { a: 'b' });
        assert.deepEqual(plan.body.spec, shipped.spec);
      }
    });
  }

  const versions: [string, string, number][] = [
    ['0.10.0', '0.9.0', 1],
    ['1.2', '1.2.0', 0],
    ['0.1.0', '0.1.1', -1],
    ['dev', '0.1.0', -1],
    ['0.1.0', 'dev', 1],
  ];
  for (const [a, b, want] of versions) {
    it(`orders ${a} against ${b} as ${want}`, () => assert.equal(compareVersions(a, b), want));
  }
});
