import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTokenCache } from './token-cache.ts';

describe('createTokenCache', () => {
  it('serves a token until its time is up, then forgets it', () => {
    const c = createTokenCache<string>();
    c.set('tok-a', 'alice', 1000);
    assert.equal(c.get('tok-a', 999), 'alice');
    assert.equal(c.get('tok-a', 1000), undefined);
    assert.equal(c.size, 0);
    assert.equal(c.bytes, 0);
  });
  it('never serves a token that differs from a cached one, however slightly', () => {
    const c = createTokenCache<string>();
    c.set('header.payload.signature', 'alice', 1000);
    assert.equal(c.get('header.payload.signaturE', 0), undefined);
    assert.equal(c.get('header.payload.signature ', 0), undefined);
  });
  it('evicts the oldest entry at the entry limit', () => {
    const c = createTokenCache<number>(2);
    c.set('a', 1, 1000);
    c.set('b', 2, 1000);
    c.set('c', 3, 1000);
    assert.deepEqual([c.get('a', 0), c.get('b', 0), c.get('c', 0)], [undefined, 2, 3]);
  });
  it('evicts the oldest entries to stay within the byte limit, and skips a token larger than it', () => {
    const c = createTokenCache<number>(100, 10);
    c.set('aaaa', 1, 1000);
    c.set('bbbb', 2, 1000);
    c.set('cccc', 3, 1000);
    assert.equal(c.get('aaaa', 0), undefined);
    assert.equal(c.bytes, 8);
    c.set('x'.repeat(11), 4, 1000);
    assert.equal(c.size, 2);
  });
  it('counts a token set twice once', () => {
    const c = createTokenCache<number>();
    c.set('same', 1, 1000);
    c.set('same', 2, 2000);
    assert.equal(c.size, 1);
    assert.equal(c.bytes, 4);
    assert.equal(c.get('same', 1500), 2);
  });
  it('serves the last token again only while it is cached', () => {
    const c = createTokenCache<number>(1);
    c.set('a', 1, 1000);
    assert.equal(c.get('a', 0), 1);
    c.set('b', 2, 1000);
    assert.equal(c.get('a', 0), undefined, 'evicted, so not served from the last-token memo either');
    assert.equal(c.get('b', 0), 2);
    assert.equal(c.get('b', 1000), undefined);
    assert.equal(c.get('b', 0), undefined, 'expired, so forgotten');
  });
});
