import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePathPattern, pathMatches, pathPatternProblem, patternCovers } from './paths.ts';

describe('pathMatches', () => {
  const cases: [string, string, string, boolean][] = [
    ['an exact path matches itself', '/healthz', '/healthz', true],
    ['an exact path does not match a longer one', '/healthz', '/healthz/x', false],
    ['a prefix matches a path below it', '/v1/data/*', '/v1/data/x', true],
    ['a prefix matches deeper paths', '/v1/data/*', '/v1/data/x/y', true],
    ['a prefix does not match its parent', '/v1/data/*', '/v1/data', false],
    ['a prefix does not match its parent with a slash', '/v1/data/*', '/v1/data/', false],
    ['a prefix does not match a sibling that shares letters', '/v1/data/*', '/v1/database', false],
    ['the root prefix matches every path below the root', '/*', '/anything', true],
    ['the root prefix does not match the root', '/*', '/', false],
  ];
  for (const [name, pattern, path, want] of cases) {
    it(name, () => assert.equal(pathMatches(parsePathPattern(pattern), path), want));
  }
});

describe('patternCovers', () => {
  const cases: [string, string, string, boolean][] = [
    ['a prefix covers a deeper prefix', '/v1/*', '/v1/data/*', true],
    ['a prefix covers itself', '/v1/*', '/v1/*', true],
    ['a deeper prefix does not cover a shorter one', '/v1/data/*', '/v1/*', false],
    ['an exact path does not cover a prefix', '/v1', '/v1/*', false],
    ['a prefix covers an exact path below it', '/v1/*', '/v1/x', true],
    ['a prefix does not cover its parent path', '/v1/*', '/v1', false],
  ];
  for (const [name, outer, inner, want] of cases) {
    it(name, () => assert.equal(patternCovers(parsePathPattern(outer), parsePathPattern(inner)), want));
  }
});

describe('pathPatternProblem', () => {
  for (const good of ['/', '/healthz', '/v1/data/*', '/*', '/a.b/c']) {
    it(`finds nothing wrong with ${good}`, () => assert.equal(pathPatternProblem(good), undefined));
  }
  for (const bad of ['/v1*', '/a/./b', '/a/..', '/a%2fb', '/a%5Cb', '/a%00']) {
    it(`says ${bad} never matches a canonical path`, () => assert.ok(pathPatternProblem(bad)));
  }
});
