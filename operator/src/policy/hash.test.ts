import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aPolicy, compiled, withMode } from '../testing/builders.ts';
import { canonicalJson, configHash, renderSidecarConfig } from './hash.ts';

describe('canonicalJson', () => {
  it('sorts object keys at every level and keeps array order', () =>
    assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}'));
  it('leaves out undefined members', () => assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}'));
});

describe('configHash', () => {
  it('does not depend on the order keys were written in', async () => {
    const c = await compiled(aPolicy());
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(c).reverse())));
    assert.equal(configHash(reordered), configHash(c));
  });
  it('changes when what the sidecar enforces changes', async () =>
    assert.notEqual(
      configHash(await compiled(aPolicy())),
      configHash(await compiled(aPolicy(withMode('Audit')))),
    ));
  it('is a sha256 in hex', async () => assert.match(configHash(await compiled(aPolicy())), /^[0-9a-f]{64}$/));
  it('is the hash of the JSON that renderSidecarConfig writes', async () => {
    const c = await compiled(aPolicy());
    const r = renderSidecarConfig(c);
    assert.equal(r.hash, configHash(JSON.parse(r.json)));
    assert.ok(r.json.endsWith('\n'));
  });
});
