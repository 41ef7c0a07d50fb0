import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPatch } from '../testing/apply-patch.ts';
import { diff, escapePathToken, unescapePathToken } from './jsonpatch.ts';

function roundTrip(a: unknown, b: unknown): void {
  const ops = diff(a, b);
  const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v) ?? 'null');
  assert.deepEqual(json(applyPatch(a, ops)), json(b));
}

describe('JSON Patch diff', () => {
  const cases: [string, unknown, unknown, unknown[]][] = [
    ['equal documents give an empty patch', { a: 1, b: [1, { c: 2 }] }, { a: 1, b: [1, { c: 2 }] }, []],
    ['a new key is added', { a: 1 }, { a: 1, b: 2 }, [{ op: 'add', path: '/b', value: 2 }]],
    ['a removed key is removed', { a: 1, b: 2 }, { a: 1 }, [{ op: 'remove', path: '/b' }]],
    ['a changed scalar is replaced', { a: 1 }, { a: '1' }, [{ op: 'replace', path: '/a', value: '1' }]],
    [
      'a key with a slash is escaped as ~1',
      { m: {} },
      { m: { 'acp.dev/status': 'x' } },
      [{ op: 'add', path: '/m/acp.dev~1status', value: 'x' }],
    ],
    [
      'a key with a tilde is escaped as ~0 before slashes are escaped',
      { m: {} },
      { m: { 'a~/b': 1, '~1': 2 } },
      [
        { op: 'add', path: '/m/a~0~1b', value: 1 },
        { op: 'add', path: '/m/~01', value: 2 },
      ],
    ],
    [
      'null annotations become an object with one replace',
      { metadata: { annotations: null } },
      { metadata: { annotations: { a: 'b' } } },
      [{ op: 'replace', path: '/metadata/annotations', value: { a: 'b' } }],
    ],
    [
      'a null initContainers list becomes a list with one replace',
      { spec: { initContainers: null } },
      { spec: { initContainers: [{ name: 's' }] } },
      [{ op: 'replace', path: '/spec/initContainers', value: [{ name: 's' }] }],
    ],
    [
      'an absent list is added whole',
      { spec: {} },
      { spec: { initContainers: [{ name: 's' }] } },
      [{ op: 'add', path: '/spec/initContainers', value: [{ name: 's' }] }],
    ],
    [
      'an element put in front shifts the others: changed in place, last one added',
      { l: [{ name: 'a' }] },
      { l: [{ name: 's' }, { name: 'a' }] },
      [
        { op: 'replace', path: '/l/0/name', value: 's' },
        { op: 'add', path: '/l/1', value: { name: 'a' } },
      ],
    ],
    [
      'a shorter array removes from the end, last index first',
      { l: [1, 2, 3, 4] },
      { l: [1] },
      [
        { op: 'remove', path: '/l/3' },
        { op: 'remove', path: '/l/2' },
        { op: 'remove', path: '/l/1' },
      ],
    ],
    ['undefined members count as absent', { a: 1, b: undefined }, { a: 1, c: undefined }, []],
    [
      'an object turned into an array is replaced',
      { a: { x: 1 } },
      { a: [1] },
      [{ op: 'replace', path: '/a', value: [1] }],
    ],
    ['an empty key is a valid member name', {}, { '': 1 }, [{ op: 'add', path: '/', value: 1 }]],
  ];
  for (const [name, a, b, expected] of cases) {
    it(name, () => {
      assert.deepEqual(diff(a, b), expected);
      roundTrip(a, b);
    });
  }

  it('escaping round-trips every mix of ~ and /', () => {
    for (const key of ['~', '/', '~1', '~0', '/~', 'a/b~c', '~~//']) {
      assert.equal(unescapePathToken(escapePathToken(key)), key);
    }
  });

  it('added values serialize without their undefined members', () => {
    const ops = diff({}, { v: { x: 1, y: undefined } });
    assert.deepEqual(JSON.parse(JSON.stringify(ops)), [{ op: 'add', path: '/v', value: { x: 1 } }]);
  });

  it('random documents round-trip through diff and apply', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const gen = (depth: number): unknown => {
      const t = rand(depth > 2 ? 3 : 6);
      if (t === 0) return rand(5);
      if (t === 1) return ['a', 'b/c', '~x'][rand(3)];
      if (t === 2) return null;
      if (t === 3) return Array.from({ length: rand(4) }, () => gen(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = 0; i < rand(4); i++) o[['k', 'a/b', 'm~n', '~1'][rand(4)]!] = gen(depth + 1);
      return o;
    };
    for (let i = 0; i < 500; i++) roundTrip(gen(0), gen(0));
  });
});
