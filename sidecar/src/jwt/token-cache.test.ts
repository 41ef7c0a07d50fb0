import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTokenCache, tokenKey } from './token-cache.ts';

describe('createTokenCache', () => {
  it('serves a token until its time is up, then forgets it', () => {
    const c = createTokenCache<string>();
    c.set('tok-a', 'alice', 1000);
    assert.equal(c.get('tok-a', 999), 'alice');
    assert.equal(c.get('tok-a', 1000), undefined);
    assert.equal(c.size, 0);
  });
  it('never serves a token that differs from a cached one, however slightly', () => {
    const c = createTokenCache<string>();
    c.set('header.payload.signature', 'alice', 1000);
    assert.equal(c.get('header.payload.signaturE', 0), undefined);
    assert.equal(c.get('header.payload.signature ', 0), undefined);
  });
  it('keys entries by a SHA-256 of the token, not the token itself', () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln';
    assert.equal(tokenKey(token).length, 43);
    assert.ok(!tokenKey(token).includes('eyJ'));
    assert.notEqual(tokenKey(token), tokenKey(token + 'x'));
  });
  it('evicts the oldest entry at the entry limit', () => {
    const c = createTokenCache<number>(2);
    c.set('a', 1, 1000);
    c.set('b', 2, 1000);
    c.set('c', 3, 1000);
    assert.deepEqual([c.get('a', 0), c.get('b', 0), c.get('c', 0)], [undefined, 2, 3]);
  });
  it('counts a token set twice once, with the later expiry', () => {
    const c = createTokenCache<number>();
    c.set('same', 1, 1000);
    c.set('same', 2, 2000);
    assert.equal(c.size, 1);
    assert.equal(c.get('same', 1500), 2);
  });
});
