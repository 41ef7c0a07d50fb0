import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePathPattern, compileRule, matchRule } from './rules.ts';

describe('compilePathPattern', () => {
  const cases: [string, string, string, boolean][] = [
    ['matches an exact path', '/healthz', '/healthz', true],
    ['does not match a longer path with an exact pattern', '/healthz', '/healthz/x', false],
    ['matches anything below a prefix wildcard', '/v1/data/*', '/v1/data/a/b', true],
    ['does not match the prefix itself', '/v1/data/*', '/v1/data', false],
    ['does not match a sibling with the same prefix text', '/v1/data/*', '/v1/database', false],
    ['matches one segment with an inner wildcard', '/v1/*/items', '/v1/7/items', true],
    ['does not let an inner wildcard span two segments', '/v1/*/items', '/v1/7/8/items', false],
  ];
  for (const [name, pattern, path, expected] of cases) {
    it(name, () => assert.equal(compilePathPattern(pattern)(path), expected));
  }
});

describe('matchRule', () => {
  const rules = [
    { paths: ['/healthz'], methods: [], public: true, providers: [], requiredScopes: [] },
    { paths: ['/v1/*'], methods: ['POST'], public: false, providers: ['corp'], requiredScopes: ['w'] },
    { paths: ['/v1/*'], methods: [], public: false, providers: [], requiredScopes: ['r'] },
  ].map(compileRule);
  it('takes the first rule that matches method and path', () => {
    assert.equal(matchRule(rules, 'POST', '/v1/x')?.index, 1);
  });
  it('skips a rule whose methods do not include the request method', () => {
    assert.equal(matchRule(rules, 'GET', '/v1/x')?.index, 2);
  });
  it('returns null when no rule matches', () => assert.equal(matchRule(rules, 'GET', '/other'), null));
});
