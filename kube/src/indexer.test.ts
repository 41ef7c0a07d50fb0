import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Indexer, NAMESPACE_INDEX } from './indexer.ts';

interface Obj {
  ns: string;
  sa: string;
  tags?: string[];
}

const indexer = (): Indexer<Obj> =>
  new Indexer<Obj>((o) => o.ns, {
    sa: (o) => [`${o.ns}/${o.sa}`],
    tag: (o) => o.tags ?? [],
  });

type Step = ['put', string, Obj] | ['remove', string];
const put = (key: string, sa: string, tags?: string[]): Step => [
  'put',
  key,
  { ns: key.split('/')[0] ?? '', sa, ...(tags ? { tags } : {}) },
];

// [name, steps, index, value, the keys byIndex gives, the values indexValues gives (if checked)]
const cases: [string, Step[], string, string, string[], string[]?][] = [
  [
    'finds the objects of one namespace without the others',
    [put('a/p1', 'x'), put('b/p2', 'x'), put('a/p3', 'y')],
    NAMESPACE_INDEX,
    'a',
    ['a/p1', 'a/p3'],
    ['a', 'b'],
  ],
  [
    'moves an object to its new index value when it is replaced',
    [put('a/p1', 'x'), put('a/p1', 'y')],
    'sa',
    'a/x',
    [],
    ['a/y'],
  ],
  [
    'drops an index value when its last object is removed',
    [put('a/p1', 'x'), put('a/p2', 'x'), put('a/p3', 'y'), ['remove', 'a/p1'], ['remove', 'a/p3']],
    'sa',
    'a/x',
    ['a/p2'],
    ['a/x'],
  ],
  [
    'lists an object under each of several values, and under none when it has none',
    [put('a/p1', 'x', ['red', 'blue']), put('a/p2', 'x', ['blue']), put('a/p3', 'x')],
    'tag',
    'blue',
    ['a/p1', 'a/p2'],
    ['red', 'blue'],
  ],
  [
    'ignores the removal of a key it does not hold',
    [put('a/p1', 'x'), ['remove', 'a/nope']],
    'sa',
    'a/x',
    ['a/p1'],
  ],
];

describe('Indexer', () => {
  for (const [name, steps, index, value, want, values] of cases) {
    it(name, () => {
      const ix = indexer();
      const objects = new Map<Obj, string>();
      for (const s of steps) {
        if (s[0] === 'put') {
          ix.put(s[1], s[2]);
          objects.set(s[2], s[1]);
        } else ix.remove(s[1]);
      }
      const got = ix.byIndex(index, value).map((o) => objects.get(o));
      assert.deepEqual(got.sort(), [...want].sort());
      if (values) assert.deepEqual(ix.indexValues(index).sort(), [...values].sort());
    });
  }

  it('keeps the objects by key as the index says', () => {
    const ix = indexer();
    ix.put('a/p1', { ns: 'a', sa: 'x' });
    ix.put('a/p1', { ns: 'b', sa: 'x' });
    assert.equal(ix.size, 1);
    assert.equal(ix.get('a/p1')?.ns, 'b');
    assert.deepEqual(ix.byIndex(NAMESPACE_INDEX, 'a'), []);
  });

  it('refuses an unknown index name and the reserved one', () => {
    assert.throws(() => indexer().byIndex('nope', 'x'), /no index named nope/);
    assert.throws(() => new Indexer<Obj>((o) => o.ns, { namespace: () => [] }), /reserved/);
  });
});
