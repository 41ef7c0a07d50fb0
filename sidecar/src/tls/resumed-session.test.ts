import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLIENT_ID } from '../testing/fixtures.ts';
import { TestPki } from '../testing/pki.ts';
import { resumedSessionRefusal } from './resumed-session.ts';

describe('resumedSessionRefusal', () => {
  let dir: string;
  let cert: X509Certificate;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'acp-resumed-'));
    const pki = new TestPki(dir);
    pki.root('ca');
    cert = new X509Certificate(pki.workload('client', CLIENT_ID).cert);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const inside = (): number => Date.parse(cert.validFrom) + 1000;

  const cases: [string, () => [X509Certificate | undefined, boolean, number], string | null][] = [
    ['lets a session with a certificate in its validity period go on', () => [cert, true, inside()], null],
    [
      'refuses a session whose certificate expired since it began',
      () => [cert, true, Date.parse(cert.validTo)],
      'ACP_ERR_PEER_CERT_EXPIRED',
    ],
    [
      'refuses a session whose certificate is not valid yet (clock moved back)',
      () => [cert, true, Date.parse(cert.validFrom) - 1],
      'ACP_ERR_PEER_CERT_NOT_YET_VALID',
    ],
    [
      'refuses a session without a certificate in Strict mode',
      () => [undefined, true, inside()],
      'ACP_ERR_TLS_NO_CLIENT_CERT',
    ],
    [
      'lets a session without a certificate go on in Permissive mode',
      () => [undefined, false, inside()],
      null,
    ],
  ];
  for (const [name, args, code] of cases) {
    it(name, () => assert.equal(resumedSessionRefusal(...args()), code));
  }
});
