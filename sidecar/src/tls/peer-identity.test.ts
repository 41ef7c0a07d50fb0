import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestPki } from '../testing/pki.ts';
import { parseSubjectAltName, peerIdentity } from './peer-identity.ts';

describe('parseSubjectAltName', () => {
  it('splits entries and types', () => {
    assert.deepEqual(parseSubjectAltName('DNS:a, URI:spiffe://td/ns/x/sa/y'), [
      { type: 'DNS', value: 'a' },
      { type: 'URI', value: 'spiffe://td/ns/x/sa/y' },
    ]);
  });
  it('reads a quoted value that contains the separator', () => {
    assert.deepEqual(parseSubjectAltName('URI:"spiffe://td/ns/a, URI:spiffe://td/ns/b", DNS:c'), [
      { type: 'URI', value: 'spiffe://td/ns/a, URI:spiffe://td/ns/b' },
      { type: 'DNS', value: 'c' },
    ]);
  });
  it('returns nothing for a certificate without SANs', () =>
    assert.deepEqual(parseSubjectAltName(undefined), []));
});

describe('peerIdentity', () => {
  let dir: string;
  let pki: TestPki;
  const id = 'spiffe://cluster.local/ns/shop/sa/checkout';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'acp-peer-'));
    pki = new TestPki(dir);
    pki.root('ca');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = (name: string, spec: Parameters<TestPki['issue']>[1]): X509Certificate =>
    new X509Certificate(pki.issue(name, spec).cert);

  it('returns the SPIFFE ID of a well-formed workload certificate', () => {
    assert.deepEqual(
      peerIdentity(cert('good', { san: `subjectAltName=URI:${id}`, eku: 'clientAuth' }), 'cluster.local'),
      {
        ok: true,
        spiffeId: id,
      },
    );
  });
  const refused: [string, Parameters<TestPki['issue']>[1], string][] = [
    [
      'refuses a certificate without a URI SAN',
      { san: 'subjectAltName=DNS:checkout', eku: 'clientAuth' },
      'ACP_ERR_PEER_CERT_NO_URI_SAN',
    ],
    [
      'refuses a certificate with two URI SANs',
      { san: `subjectAltName=URI:${id},URI:${id}2`, eku: 'clientAuth' },
      'ACP_ERR_PEER_CERT_MULTIPLE_URI_SANS',
    ],
    [
      'refuses a SPIFFE ID in a DNS SAN',
      {
        san: 'subjectAltName=DNS:spiffe.cluster.local,DNS:spiffe://cluster.local/ns/a/sa/b',
        eku: 'clientAuth',
      },
      'ACP_ERR_PEER_CERT_SPIFFE_IN_DNS_SAN',
    ],
    [
      'refuses another trust domain',
      { san: 'subjectAltName=URI:spiffe://evil.local/ns/shop/sa/checkout', eku: 'clientAuth' },
      'ACP_ERR_PEER_CERT_TRUST_DOMAIN',
    ],
    [
      'refuses a URI that is not a workload SPIFFE ID',
      { san: 'subjectAltName=URI:https://cluster.local/x', eku: 'clientAuth' },
      'ACP_ERR_PEER_CERT_NOT_SPIFFE',
    ],
    [
      'refuses a CA certificate used as a leaf',
      { san: `subjectAltName=URI:${id}`, eku: 'clientAuth', ca: true },
      'ACP_ERR_PEER_CERT_IS_CA',
    ],
    [
      'refuses a certificate without the clientAuth usage',
      { san: `subjectAltName=URI:${id}`, eku: 'serverAuth' },
      'ACP_ERR_PEER_CERT_NO_CLIENT_AUTH',
    ],
    [
      'refuses a certificate without any extended key usage',
      { san: `subjectAltName=URI:${id}` },
      'ACP_ERR_PEER_CERT_NO_CLIENT_AUTH',
    ],
  ];
  for (const [name, spec, code] of refused) {
    it(name, () => {
      const r = peerIdentity(cert(name.replace(/\W+/g, '-'), spec), 'cluster.local');
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.code, code);
    });
  }
});
