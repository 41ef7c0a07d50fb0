import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalizeTarget } from './canonical-path.ts';

describe('canonicalizeTarget', () => {
  const accepted: [string, string, string, string][] = [
    ['keeps a plain path as it is', '/v1/payments/42', '/v1/payments/42', ''],
    ['splits off the query string untouched', '/v1/items?q=%2F&x=1', '/v1/items', 'q=%2F&x=1'],
    ['resolves a dot segment that stays inside the root', '/v1/a/../b', '/v1/b', ''],
    ['drops a single-dot segment', '/v1/./b', '/v1/b', ''],
    ['decodes percent-escaped unreserved characters', '/v1/%61bc', '/v1/abc', ''],
    ['keeps other escapes, upper-cased', '/v1/a%3ab', '/v1/a%3Ab', ''],
    ['keeps a trailing slash', '/v1/a/', '/v1/a/', ''],
    ['turns a trailing dot-dot into a directory', '/v1/a/..', '/v1/', ''],
    ['keeps escaped UTF-8 as it is', '/v1/caf%c3%a9', '/v1/caf%C3%A9', ''],
    ['keeps escaped UTF-8 split by a literal character', '/v1/%c3%a9a%c3%a9', '/v1/%C3%A9a%C3%A9', ''],
    ['keeps an escaped percent sign not followed by hex digits', '/v1/100%25off', '/v1/100%25off', ''],
    ['keeps a semicolon in the query', '/v1/a?x=1;y=2', '/v1/a', 'x=1;y=2'],
  ];
  for (const [name, target, path, query] of accepted) {
    it(name, () => assert.deepEqual(canonicalizeTarget(target), { ok: true, path, query }));
  }

  const refused: [string, string, RegExp][] = [
    ['refuses an encoded slash', '/v1/a%2fb', /encoded slash/],
    ['refuses an encoded slash in upper case', '/v1/a%2Fb', /encoded slash/],
    ['refuses a backslash', '/v1/a\\b', /backslash/],
    ['refuses an encoded backslash', '/v1/a%5cb', /encoded backslash/],
    ['refuses an encoded NUL', '/v1/a%00b', /control/],
    ['refuses a dot-dot that climbs above the root', '/../etc/passwd', /escapes the root/],
    ['refuses a dot-dot that climbs above the root later on', '/a/../../etc', /escapes the root/],
    ['refuses an encoded dot-dot segment', '/v1/%2e%2e/admin', /encoded dot segment/],
    ['refuses a half-encoded dot-dot segment', '/v1/.%2e/admin', /encoded dot segment/],
    ['refuses an invalid percent escape', '/v1/%zz', /invalid percent escape/],
    ['refuses a truncated percent escape', '/v1/%4', /invalid percent escape/],
    ['refuses an empty segment', '/v1//admin', /empty path segment/],
    ['refuses an absolute-form target', 'http://evil/v1', /origin-form/],
    ['refuses an asterisk-form target', '*', /origin-form/],
    ['refuses a fragment', '/v1/a#b', /fragment/],
    [
      'refuses a path parameter hiding a dot-dot (servlet containers route /admin)',
      '/public/..;/admin',
      /semicolon/,
    ],
    ['refuses an encoded semicolon', '/public/..%3b/admin', /encoded semicolon/],
    ['refuses an encoded semicolon in lower and upper case', '/v1/a%3Bb', /encoded semicolon/],
    ['refuses an overlong dot (%c0%ae)', '/v1/%c0%ae%c0%ae/admin', /not UTF-8/],
    ['refuses an overlong slash (%c0%af)', '/v1/a%c0%afb', /not UTF-8/],
    ['refuses a three-byte overlong dot (%e0%80%ae)', '/v1/%e0%80%ae', /not UTF-8/],
    ['refuses an encoded surrogate half', '/v1/%ed%a0%80', /not UTF-8/],
    ['refuses a lone continuation byte', '/v1/%80', /not UTF-8/],
    ['refuses a truncated UTF-8 sequence before a literal', '/v1/%c3a', /not UTF-8/],
    ['refuses a truncated UTF-8 sequence at the end', '/v1/a%c3', /not UTF-8/],
    ['refuses a fullwidth full stop (NFKC ".")', '/v1/%ef%bc%8e%ef%bc%8e/admin', /normalization/],
    ['refuses a one-dot leader (NFKC ".")', '/v1/%e2%80%a4%e2%80%a4/admin', /normalization/],
    ['refuses a fullwidth solidus (NFKC "/")', '/v1/a%ef%bc%8fb', /normalization/],
    ['refuses fullwidth letters (NFKC "admin")', '/%ef%bd%81dmin', /normalization/],
    ['refuses a double-encoded dot-dot', '/v1/%252e%252e/admin', /escaped percent escape/],
    ['refuses a double-encoded slash', '/v1/a%252fb', /escaped percent escape/],
    ['refuses a raw byte outside ASCII', '/v1/caf\u00e9', /non-ASCII/],
    ['refuses a raw NUL', '/v1/a\u0000b', /control/],
  ];
  const byDefault: [string, string, RegExp][] = [
    ['refuses a path parameter on a plain segment', '/v1/a;jsessionid=1/b', /semicolon/],
    ['refuses a path parameter on the last segment', '/admin;x', /semicolon/],
  ];
  for (const [name, target, reason] of [...refused, ...byDefault]) {
    it(name, () => {
      const r = canonicalizeTarget(target);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, reason);
    });
  }
  for (const [name, target] of refused) {
    it(`${name} (matrix parameters allowed too)`, () => {
      const r = canonicalizeTarget(target, { allowMatrixParameters: true });
      assert.equal(r.ok, false);
    });
  }
});

describe('canonicalizeTarget with matrix parameters allowed', () => {
  const allow = { allowMatrixParameters: true };
  const accepted: [string, string, string, string][] = [
    [
      'keeps the parameters for the app and leaves them out for matching',
      '/v1/a;v=1/b',
      '/v1/a;v=1/b',
      '/v1/a/b',
    ],
    [
      'keeps several parameters of one segment',
      '/cars;color=red;year=2012',
      '/cars;color=red;year=2012',
      '/cars',
    ],
    ['resolves a dot-dot after a segment with parameters on both paths', '/v1/a;x/../b', '/v1/b', '/v1/b'],
  ];
  for (const [name, target, path, route] of accepted) {
    it(name, () => {
      const r = canonicalizeTarget(target, allow);
      assert.ok(r.ok);
      assert.equal(r.path, path);
      assert.equal(r.route ?? r.path, route);
    });
  }
  const refused: [string, string, RegExp][] = [
    ['refuses a parameter on a dot-dot segment', '/public/..;/admin', /dot segment/],
    ['refuses a parameter on a dot segment', '/public/.;x/admin', /dot segment/],
    ['refuses a parameter on an empty segment', '/;x/admin', /empty or dot/],
    ['refuses an encoded slash inside a parameter', '/v1/a;x=%2f', /encoded slash/],
    ['refuses an encoded semicolon in a segment name', '/v1/a%3bx/b', /encoded semicolon/],
  ];
  for (const [name, target, reason] of refused) {
    it(name, () => {
      const r = canonicalizeTarget(target, allow);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, reason);
    });
  }
});
