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
  ];
  for (const [name, target, reason] of refused) {
    it(name, () => {
      const r = canonicalizeTarget(target);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, reason);
    });
  }
});
