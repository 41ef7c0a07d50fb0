import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agreedConfig } from './cluster.ts';
import type { AdminConfigReport } from './server/admin.ts';

const report = (configHash: string, version = '0.1.0'): AdminConfigReport => ({
  configHash,
  version,
  policy: { namespace: 'shop', name: 'web', generation: 1 },
});

describe('agreedConfig', () => {
  const cases: [string, [number, AdminConfigReport][], number, string | undefined][] = [
    [
      'is the report when every worker reports the same config',
      [
        [0, report('a')],
        [1, report('a')],
      ],
      2,
      'a',
    ],
    ['is undefined while a worker has not reported', [[0, report('a')]], 2, undefined],
    [
      'is undefined while the workers differ (a reload half done)',
      [
        [0, report('a')],
        [1, report('b')],
      ],
      2,
      undefined,
    ],
    [
      'is undefined while the versions differ',
      [
        [0, report('a')],
        [1, report('a', '0.0.9')],
      ],
      2,
      undefined,
    ],
  ];
  for (const [name, entries, workers, want] of cases)
    it(name, () => assert.equal(agreedConfig(new Map(entries), workers)?.configHash, want));
});
