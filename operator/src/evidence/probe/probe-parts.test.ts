import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aPolicy, compiled, withTls } from '../../testing/builders.ts';
import { classifyClose, parseAnswer } from './handshake.ts';
import { FORBIDDEN_SUITES, suitesToProbe } from './plan.ts';
import { parseSubjectAltNameUris } from './san.ts';

describe('parseAnswer', () => {
  const cases: [string, string, ReturnType<typeof parseAnswer>][] = [
    ['is undefined until the head is complete', 'HTTP/1.1 403 Forbidden\r\nx: y\r\n', undefined],
    [
      'reads the status and the headers, lower-cased',
      'HTTP/1.1 403 Forbidden\r\nStrict-Transport-Security: max-age=1\r\n\r\nbody',
      { status: 403, headers: { 'strict-transport-security': 'max-age=1' } },
    ],
    ['is undefined for something that is not HTTP/1.x', 'SSH-2.0-x\r\n\r\n', undefined],
  ];
  for (const [name, raw, want] of cases) it(name, () => assert.deepEqual(parseAnswer(raw), want));
});

describe('classifyClose', () => {
  const alert = 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION';
  const certRequired = 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED';
  const cases: [string, boolean, string | undefined, string][] = [
    ['is a refusal on a TLS alert', true, alert, 'refused'],
    ['is a refusal on the certificate-required alert', true, certRequired, 'refused'],
    [
      'is inconclusive on a reset without an alert (as a limit gives)',
      true,
      'ECONNRESET',
      'ACP_ERR_PROBE_INCONCLUSIVE',
    ],
    ['is inconclusive on a plain close', true, undefined, 'ACP_ERR_PROBE_INCONCLUSIVE'],
    ['is unreachable when TCP never connected', false, 'ECONNREFUSED', 'ACP_ERR_PROBE_UNREACHABLE'],
  ];
  for (const [name, tcpUp, code, want] of cases)
    it(name, () => {
      const r = classifyClose(tcpUp, code === undefined ? undefined : { code, message: code });
      assert.equal(r.kind === 'failed' ? r.code : r.kind, want);
    });
});

describe('parseSubjectAltNameUris', () => {
  const cases: [string, string | undefined, string[]][] = [
    [
      'reads the URI SANs among others',
      'DNS:payments, URI:spiffe://cluster.local/ns/a/sa/b',
      ['spiffe://cluster.local/ns/a/sa/b'],
    ],
    ['reads a quoted URI', 'URI:"spiffe://td/ns/a/sa/b,c"', ['spiffe://td/ns/a/sa/b,c']],
    ['is empty without a SAN', undefined, []],
    [
      'reads every URI SAN',
      'URI:spiffe://a/ns/x/sa/y, URI:spiffe://b/ns/x/sa/y',
      ['spiffe://a/ns/x/sa/y', 'spiffe://b/ns/x/sa/y'],
    ],
  ];
  for (const [name, san, want] of cases) it(name, () => assert.deepEqual(parseSubjectAltNameUris(san), want));
});

describe('suitesToProbe', () => {
  it('tries the compiled suites, the AEAD suites the policy left out and the forbidden ones', async () => {
    const c = await compiled(
      aPolicy(
        withTls({
          minVersion: 'TLS1.2',
          cipherSuites: ['TLS_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384'],
        }),
      ),
    );
    const names = suitesToProbe(c).map((s) => s.name);
    assert.deepEqual(names.slice(0, 2), ['TLS_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
    assert.ok(names.includes('TLS_CHACHA20_POLY1305_SHA256'), 'an AEAD suite the policy left out');
    for (const f of FORBIDDEN_SUITES) assert.ok(names.includes(f.name), f.name);
    assert.equal(new Set(names).size, names.length);
  });
});
