import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SidecarConfig } from '@acp/crds/sidecar';
import { baseConfig, CLIENT_ID, SERVER_ID } from '../testing/fixtures.ts';
import { TestPki, type Issued } from '../testing/pki.ts';
import { validateCredentials, type Credentials } from './credentials.ts';
import { listenerTlsOptions, sessionGeneration, sessionTicketKey } from './options.ts';

describe('session generation (what resumption is bound to)', () => {
  let dir: string;
  let ca: Issued;
  let ca2: Issued;
  let server: Issued;
  let renewed: Issued;
  let creds: Credentials;
  const base = Buffer.alloc(48, 7);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'acp-options-'));
    const pki = new TestPki(dir);
    ca = pki.root('ca');
    ca2 = pki.root('ca2');
    server = pki.workload('server', SERVER_ID);
    renewed = pki.workload('renewed', SERVER_ID);
    creds = validateCredentials({ cert: server.cert, key: server.key, ca: ca.cert }, Date.now() + 1000);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const config = (mutate: (c: SidecarConfig) => void = () => undefined): SidecarConfig => {
    const c = baseConfig(8080);
    c.mtls.allowedPeers = [CLIENT_ID];
    mutate(c);
    return c;
  };

  const changes: [string, () => [SidecarConfig, Credentials]][] = [
    ['changes with the trust bundle', () => [config(), { ...creds, fingerprint: 'other-bundle' }]],
    [
      'changes with a new root added to the bundle',
      () => [
        config(),
        validateCredentials(
          { cert: server.cert, key: server.key, ca: ca.cert + ca2.cert },
          Date.now() + 1000,
        ),
      ],
    ],
    [
      'changes with its own certificate',
      () => [
        config(),
        validateCredentials({ cert: renewed.cert, key: renewed.key, ca: ca.cert }, Date.now() + 1000),
      ],
    ],
    [
      'changes with allowedPeers',
      () => [config((c) => c.mtls.allowedPeers.push('spiffe://cluster.local/ns/a/sa/b')), creds],
    ],
    ['changes when allowedPeers is emptied', () => [config((c) => (c.mtls.allowedPeers = [])), creds]],
    ['changes with the mTLS mode', () => [config((c) => (c.mtls.mode = 'Permissive')), creds]],
    ['changes with the trust domain', () => [config((c) => (c.trustDomain = 'other.local')), creds]],
    ['changes with the TLS floor', () => [config((c) => (c.tls.minVersion = 'TLSv1.3')), creds]],
  ];
  for (const [name, next] of changes) {
    it(name, () => {
      const [c, k] = next();
      assert.notEqual(sessionGeneration(c, k), sessionGeneration(config(), creds));
      assert.notDeepEqual(sessionTicketKey(c, k, base), sessionTicketKey(config(), creds, base));
      assert.notEqual(
        listenerTlsOptions(c, k, base).sessionIdContext,
        listenerTlsOptions(config(), creds, base).sessionIdContext,
      );
    });
  }

  const same: [string, (c: SidecarConfig) => void][] = [
    ['stays with a change of the JWT rules', (c) => (c.jwt = null)],
    ['stays with a change of limits', (c) => (c.limits.maxRequestBytes = 1)],
    ['stays with allowedPeers in another order', (c) => (c.mtls.allowedPeers = [CLIENT_ID].reverse())],
    ['stays with a change of the audit settings', (c) => (c.audit.enabled = false)],
  ];
  for (const [name, mutate] of same) {
    it(name, () =>
      assert.equal(sessionGeneration(config(mutate), creds), sessionGeneration(config(), creds)),
    );
  }

  it('installs the bound ticket key, not the shared base key, and a 32-byte session id context', () => {
    const o = listenerTlsOptions(config(), creds, base);
    assert.equal(o.ticketKeys?.length, 48);
    assert.notDeepEqual(o.ticketKeys, base);
    assert.deepEqual(o.ticketKeys, sessionTicketKey(config(), creds, base));
    assert.equal(o.sessionIdContext?.length, 32);
  });
  it('gives every worker with the same base key and material the same ticket key', () =>
    assert.deepEqual(
      sessionTicketKey(config(), creds, Buffer.from(base)),
      sessionTicketKey(config(), creds, base),
    ));
  it('changes the ticket key when the base key rotates', () =>
    assert.notDeepEqual(
      sessionTicketKey(config(), creds, Buffer.alloc(48, 8)),
      sessionTicketKey(config(), creds, base),
    ));
});
