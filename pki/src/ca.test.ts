import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateCa } from './ca.ts';
import { createRootCa, createSigner } from './certificates.ts';

const dir = mkdtempSync(join(tmpdir(), 'acp-ca-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const openssl = (...args: string[]): string =>
  execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const read = (f: string): string => readFileSync(join(dir, f), 'utf8');

/** A corporate root and an intermediate issued by it with openssl, as a user would bring them. */
function makeCorporateChain(): void {
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key');
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    'root.key',
    '-subj',
    '/CN=Corp Root',
    '-days',
    '365',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    'root.crt',
  );
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'int.key');
  openssl('req', '-new', '-key', 'int.key', '-subj', '/CN=Corp Mesh Intermediate', '-out', 'int.csr');
  writeFileSync(
    join(dir, 'int.ext'),
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'int.csr',
    '-CA',
    'root.crt',
    '-CAkey',
    'root.key',
    '-CAcreateserial',
    '-days',
    '90',
    '-extfile',
    'int.ext',
    '-out',
    'int.crt',
  );
  // A certificate that is not a CA, and a CA without keyCertSign.
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    'int.key',
    '-subj',
    '/CN=Not A CA',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-out',
    'leaf.crt',
  );
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    'int.key',
    '-subj',
    '/CN=No Sign',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,digitalSignature',
    '-out',
    'nosign.crt',
  );
  openssl('genpkey', '-algorithm', 'ed25519', '-out', 'ed.key');
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    'ed.key',
    '-subj',
    '/CN=Ed CA',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
    '-out',
    'ed.crt',
  );
}

describe('validateCa', () => {
  // Taken after openssl made the certificates (notBefore has second precision).
  let now: Date;
  before(() => {
    makeCorporateChain();
    now = new Date(Date.now() + 1000);
  });

  it('accepts the operator-generated self-signed root and trusts it', async () => {
    const root = await createRootCa({
      commonName: 'acp',
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: 86_400_000,
      now,
    });
    const ca = validateCa({ certPem: root.certPem, keyPem: root.keyPem }, now);
    assert.equal(ca.rootsPem.length, 1);
    assert.deepEqual(ca.chainPem, []);
    assert.equal(ca.keyAlgorithm, 'ECDSA-P256');
  });

  it('accepts a user intermediate that chains to the root it carries, and leaves chain to that root', async () => {
    const ca = validateCa(
      { certPem: read('int.crt'), keyPem: read('int.key'), rootsPem: read('root.crt') },
      now,
    );
    assert.equal(ca.chainPem.length, 1, 'the intermediate goes into every leaf chain');
    assert.equal(ca.rootsPem.length, 1);
    const leaf = await createSigner(ca.certPem, ca.keyPem, ca.chainPem).issue({
      uriSans: ['spiffe://cluster.local/ns/a/sa/b'],
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: 3_600_000,
      backdateMs: 60_000,
      usages: ['clientAuth', 'serverAuth'],
      now,
    });
    writeFileSync(join(dir, 'issued.pem'), leaf.certPem);
    assert.match(
      openssl('verify', '-x509_strict', '-CAfile', 'root.crt', '-untrusted', 'int.crt', 'issued.pem'),
      /issued.pem: OK/,
    );
  });

  const refusals: [string, () => Parameters<typeof validateCa>[0], RegExp, Date?][] = [
    [
      'refuses a certificate that is not a CA',
      () => ({ certPem: read('leaf.crt'), keyPem: read('int.key') }),
      /not a CA certificate/,
    ],
    [
      'refuses a CA without keyCertSign',
      () => ({ certPem: read('nosign.crt'), keyPem: read('int.key') }),
      /keyCertSign/,
    ],
    [
      'refuses a key that does not match the certificate',
      () => ({ certPem: read('root.crt'), keyPem: read('int.key') }),
      /does not match/,
    ],
    [
      'refuses a key that is not PEM',
      () => ({ certPem: read('root.crt'), keyPem: 'garbage' }),
      /not a PEM private key/,
    ],
    [
      'refuses an unsupported key type',
      () => ({ certPem: read('ed.crt'), keyPem: read('ed.key') }),
      /unsupported key: ed25519/,
    ],
    [
      'refuses an intermediate without roots',
      () => ({ certPem: read('int.crt'), keyPem: read('int.key') }),
      /carries no root/,
    ],
    [
      'refuses an intermediate that does not chain to the roots given',
      () => ({ certPem: read('int.crt'), keyPem: read('int.key'), rootsPem: read('ed.crt') }),
      /does not chain/,
    ],
    [
      'refuses an empty certificate',
      () => ({ certPem: '', keyPem: read('int.key') }),
      /holds no certificate/,
    ],
    [
      'refuses an expired CA',
      () => ({ certPem: read('root.crt'), keyPem: read('root.key') }),
      /expired/,
      new Date(Date.now() + 400 * 86_400_000),
    ],
    [
      'refuses a CA that is not valid yet',
      () => ({ certPem: read('root.crt'), keyPem: read('root.key') }),
      /not valid before/,
      new Date(Date.now() - 86_400_000),
    ],
  ];
  for (const [name, source, message, at] of refusals) {
    it(name, () => {
      assert.throws(
        () => validateCa(source(), at ?? now),
        (e: unknown) => {
          assert.equal((e as { code: string }).code, 'ACP_ERR_CA_INVALID');
          assert.match((e as Error).message, message);
          assert.doesNotMatch((e as Error).message, /PRIVATE KEY/, 'never a key in an error');
          return true;
        },
      );
    });
  }
});
