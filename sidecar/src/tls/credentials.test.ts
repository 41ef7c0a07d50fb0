import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestPki, type Issued } from '../testing/pki.ts';
import { validateCredentials } from './credentials.ts';

describe('validateCredentials', () => {
  let dir: string;
  let pki: TestPki;
  let ca: Issued;
  let leaf: Issued;
  let viaIntermediate: Issued;
  let inter: Issued;
  let other: Issued;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'acp-creds-'));
    pki = new TestPki(dir);
    ca = pki.root('ca');
    other = pki.root('other');
    leaf = pki.workload('leaf', 'spiffe://cluster.local/ns/a/sa/b');
    inter = pki.issue('inter', { ca: true });
    viaIntermediate = pki.workload('via', 'spiffe://cluster.local/ns/a/sa/c', 'inter');
    // After openssl made them: notBefore has second precision and no backdating.
    now = Date.now() + 1000;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  let now = 0;

  it('accepts a leaf signed by a root of the bundle and reads its SPIFFE ID', () => {
    const c = validateCredentials({ cert: leaf.cert, key: leaf.key, ca: ca.cert }, now);
    assert.equal(c.selfId, 'spiffe://cluster.local/ns/a/sa/b');
  });
  it('accepts a chain through an intermediate', () => {
    const c = validateCredentials(
      { cert: viaIntermediate.cert + inter.cert, key: viaIntermediate.key, ca: ca.cert },
      now,
    );
    assert.equal(c.selfId, 'spiffe://cluster.local/ns/a/sa/c');
  });
  it('accepts a bundle with several roots (a new trust root being rolled in)', () => {
    validateCredentials({ cert: leaf.cert, key: leaf.key, ca: other.cert + ca.cert }, now);
  });
  const refused: [string, () => { cert: string; key: string; ca: string }, number, RegExp][] = [
    [
      'refuses a key that does not match the certificate',
      () => ({ cert: leaf.cert, key: viaIntermediate.key, ca: ca.cert }),
      0,
      /does not match/,
    ],
    [
      'refuses a chain that does not lead to the bundle',
      () => ({ cert: leaf.cert, key: leaf.key, ca: other.cert }),
      0,
      /does not chain/,
    ],
    [
      'refuses a chain missing its intermediate',
      () => ({ cert: viaIntermediate.cert, key: viaIntermediate.key, ca: ca.cert }),
      0,
      /does not chain/,
    ],
    [
      'refuses an expired certificate',
      () => ({ cert: leaf.cert, key: leaf.key, ca: ca.cert }),
      40 * 86_400_000,
      /expired/,
    ],
    [
      'refuses a certificate that is not yet valid',
      () => ({ cert: leaf.cert, key: leaf.key, ca: ca.cert }),
      -86_400_000,
      /not valid before/,
    ],
    [
      'refuses an empty certificate file',
      () => ({ cert: '', key: leaf.key, ca: ca.cert }),
      0,
      /no certificate/,
    ],
    [
      'refuses an empty bundle',
      () => ({ cert: leaf.cert, key: leaf.key, ca: '' }),
      0,
      /ca.crt holds no certificate/,
    ],
    [
      'refuses a garbage key',
      () => ({ cert: leaf.cert, key: 'nope', ca: ca.cert }),
      0,
      /not a usable private key/,
    ],
  ];
  for (const [name, files, at, message] of refused) {
    it(name, () =>
      assert.throws(
        () => validateCredentials(files(), now + at),
        (e: any) => e.code === 'ACP_ERR_CREDENTIALS_INVALID' && message.test(e.message),
      ),
    );
  }
});
