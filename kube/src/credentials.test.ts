import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRootCa, createSigner } from '@acp/pki';
import { Credentials } from './credentials.ts';
import type { ExecCredential } from './exec.ts';
import type { AuthSource, Connection } from './kubeconfig.ts';
import { FakeClock } from './testing/fake-clock.ts';

const dir = (): string => mkdtempSync(join(tmpdir(), 'acp-creds-'));
/** Replaces a file the way the kubelet does: write aside, rename over. */
const put = (path: string, text: string): void => {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
};
const conn = (auth: AuthSource): Connection => ({
  cluster: { server: 'https://127.0.0.1:1', skipTLSVerify: false },
  auth,
  source: 'test',
});

async function clientPair(cn: string): Promise<{ cert: string; key: string }> {
  const now = new Date();
  const ca = await createRootCa({ commonName: 'ca', keyAlgorithm: 'ECDSA-P256', lifetimeMs: 3_600_000, now });
  const leaf = await createSigner(ca.certPem, ca.keyPem).issue({
    commonName: cn,
    keyAlgorithm: 'ECDSA-P256',
    lifetimeMs: 3_600_000,
    backdateMs: 0,
    usages: ['clientAuth'],
    now,
  });
  return { cert: leaf.certPem, key: leaf.keyPem };
}

describe('Credentials: a token file', () => {
  it('is read again once the recheck period has passed, and the new token is used', async () => {
    const clock = new FakeClock();
    const file = join(dir(), 'token');
    put(file, 'one\n');
    const c = new Credentials(conn({ tokenFile: file }), { clock, recheckMs: 10_000 });
    assert.equal((await c.current()).authorization, 'Bearer one');
    put(file, 'two');
    clock.advance(9_999);
    assert.equal((await c.current()).authorization, 'Bearer one', 'not before the recheck period');
    clock.advance(1);
    assert.equal((await c.current()).authorization, 'Bearer two');
  });

  it('is read again at once after a 401 (reload), before the recheck period', async () => {
    const clock = new FakeClock();
    const file = join(dir(), 'token');
    put(file, 'old');
    const c = new Credentials(conn({ tokenFile: file }), { clock });
    const used = await c.current();
    put(file, 'new');
    assert.equal((await c.reload(used)).authorization, 'Bearer new');
  });

  it('keeps the last good token when the file is emptied or removed, and reports it', async () => {
    const clock = new FakeClock();
    const d = dir();
    const file = join(d, 'token');
    put(file, 'good');
    const problems: string[] = [];
    const c = new Credentials(conn({ tokenFile: file }), {
      clock,
      onProblem: (m) => problems.push(m),
    });
    const used = await c.current();
    put(file, '   \n');
    assert.equal((await c.reload(used)).authorization, 'Bearer good');
    assert.match(problems[0] ?? '', /token file .* is empty; keeping the last good credentials/);
  });

  it('refuses to start without a readable token file', async () => {
    const c = new Credentials(conn({ tokenFile: join(dir(), 'missing') }), { clock: new FakeClock() });
    await assert.rejects(c.current(), { code: 'ACP_ERR_KUBE_CREDENTIALS' });
  });
});

describe('Credentials: reload after a 401', () => {
  it('reads once for many requests that saw the same 401', async () => {
    const clock = new FakeClock();
    let reads = 0;
    const c = new Credentials(conn({ tokenFile: '/token' }), {
      clock,
      readFile: () => Promise.resolve(`t${++reads}`),
    });
    const used = await c.current();
    const after = await Promise.all([c.reload(used), c.reload(used), c.reload(used)]);
    assert.equal(reads, 2);
    assert.deepEqual(
      after.map((m) => m.authorization),
      ['Bearer t2', 'Bearer t2', 'Bearer t2'],
    );
    assert.equal(
      (await c.reload(used)).authorization,
      'Bearer t2',
      'a request with the old token retries the new one',
    );
    assert.equal(reads, 2);
  });
});

describe('Credentials: an exec plugin', () => {
  const exec = {
    apiVersion: 'client.authentication.k8s.io/v1',
    command: 'p',
    args: [],
    env: [],
    provideClusterInfo: false,
  };
  function plugin(clock: FakeClock, lifetimeMs: number | undefined) {
    const calls: number[] = [];
    const runExec = (): Promise<ExecCredential> => {
      calls.push(clock.now().getTime());
      const cred: ExecCredential = { token: `exec-${calls.length}` };
      if (lifetimeMs !== undefined) cred.expiresAt = clock.now().getTime() + lifetimeMs;
      return Promise.resolve(cred);
    };
    return { calls, runExec };
  }

  const cases: [string, number | undefined, number, number][] = [
    ['runs again when its credential is about to expire', 60_000, 50_000, 2],
    ['does not run again while its credential is fresh', 60_000, 49_999, 1],
    ['does not run again for a credential without expiry', undefined, 3_600_000, 1],
  ];
  for (const [name, lifetime, advance, want] of cases) {
    it(name, async () => {
      const clock = new FakeClock();
      const p = plugin(clock, lifetime);
      const c = new Credentials(conn({ exec }), { clock, runExec: p.runExec, renewBeforeMs: 10_000 });
      await c.current();
      clock.advance(advance);
      assert.equal((await c.current()).authorization, `Bearer exec-${want}`);
      assert.equal(p.calls.length, want);
    });
  }

  it('runs again after a 401 even when its credential has not expired', async () => {
    const clock = new FakeClock();
    const p = plugin(clock, undefined);
    const c = new Credentials(conn({ exec }), { clock, runExec: p.runExec });
    const used = await c.current();
    assert.equal((await c.reload(used)).authorization, 'Bearer exec-2');
  });
});

/** A client certificate and key ("a") in two files, and a fake clock. */
async function certFiles() {
  const d = dir();
  const [certFile, keyFile] = [join(d, 'tls.crt'), join(d, 'tls.key')];
  const a = await clientPair('a');
  put(certFile, a.cert);
  put(keyFile, a.key);
  return { clock: new FakeClock(), certFile, keyFile, a };
}

describe('Credentials: client certificate files', () => {
  it('are reloaded when they change, with a new TLS object; unchanged files keep the same object', async () => {
    const { clock, certFile, keyFile } = await certFiles();
    const c = new Credentials(conn({ certFile, keyFile }), { clock, recheckMs: 1000 });
    const first = (await c.current()).tls;
    clock.advance(1000);
    assert.equal((await c.current()).tls, first, 'same files, same TLS object (no new connection pool)');
    const b = await clientPair('b');
    put(certFile, b.cert);
    put(keyFile, b.key);
    clock.advance(1000);
    const second = (await c.current()).tls;
    assert.notEqual(second, first);
    assert.equal(second.cert, b.cert);
  });

  it('keep the last good pair while the certificate and the key do not match (half-way through a rotation)', async () => {
    const { clock, certFile, keyFile, a } = await certFiles();
    const problems: string[] = [];
    const c = new Credentials(conn({ certFile, keyFile }), {
      clock,
      recheckMs: 1000,
      onProblem: (m) => problems.push(m),
    });
    await c.current();
    put(certFile, (await clientPair('b')).cert);
    clock.advance(1000);
    assert.equal((await c.current()).tls.cert, a.cert);
    assert.match(problems[0] ?? '', /does not match its key/);
  });
});
