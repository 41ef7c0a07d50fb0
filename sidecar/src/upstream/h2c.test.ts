import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flatFields } from './h2c.ts';

describe('flatFields', () => {
  const cases: [string, Record<string, string | string[] | number>, string[]][] = [
    [
      'leaves the pseudo-headers out',
      { ':status': 200, 'content-type': 'application/grpc' },
      ['content-type', 'application/grpc'],
    ],
    [
      'repeats a field that came as a list',
      { 'set-cookie': ['a=1', 'b=2'] },
      ['set-cookie', 'a=1', 'set-cookie', 'b=2'],
    ],
  ];
  for (const [name, h, want] of cases) it(name, () => assert.deepEqual(flatFields(h as never), want));
});
