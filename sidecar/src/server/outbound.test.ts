import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { originFormUrl } from './outbound.ts';

describe('originFormUrl: a request inside an HTTP/1.1 tunnel to a meshed Service goes to the CONNECT target', () => {
  const ok: [string, string, string, string][] = [
    [
      'a path goes to the tunnel’s host and port',
      'payments.shop:8080',
      '/v1/pay',
      'http://payments.shop:8080/v1/pay',
    ],
    ['the query is kept', 'payments:8080', '/x?a=1&b=2', 'http://payments:8080/x?a=1&b=2'],
    ['port 80 is the default port', 'payments:80', '/', 'http://payments/'],
    [
      'a double slash stays part of the path, not a new host',
      'payments:8080',
      '//evil.example/x',
      'http://payments:8080//evil.example/x',
    ],
    [
      'a backslash stays part of the path',
      'payments:8080',
      '/\\evil.example',
      'http://payments:8080//evil.example',
    ],
  ];
  for (const [name, tunnel, target, want] of ok)
    it(name, () => assert.equal(originFormUrl(tunnel, target).href, want));

  const bad: [string, string][] = [
    ['an absolute-form target is refused (the tunnel decides the destination)', 'http://ledger:8080/x'],
    ['an authority-form target is refused', 'ledger:8080'],
    ['an asterisk-form target is refused', '*'],
  ];
  for (const [name, target] of bad)
    it(name, () => assert.throws(() => originFormUrl('payments:8080', target)));
});
