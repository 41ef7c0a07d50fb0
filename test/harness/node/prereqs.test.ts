// The real node refuses to start, naming what is missing, when the host or
// the isolation rules are not what it needs. Real checks on this machine: a
// real listener takes a node port; real files break the isolation rules.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkIsolation, cniConfig } from './network.ts';
import { checkPrerequisites, NODE_PORTS } from './prereqs.ts';

describe('the real node refuses to start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acp-prereq-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('when a port a node component needs is taken, naming the port', async () => {
    const port = NODE_PORTS[3] ?? 10257;
    const server = createServer();
    // Taken already (a node of another run): the premise holds without our listener.
    await new Promise<void>((r) => server.once('error', () => r()).listen(port, '127.0.0.1', r));
    try {
      await assert.rejects(checkPrerequisites(), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ACP_ERR_NODE_PREREQ');
        assert.match(e.message, new RegExp(`port 127\\.0\\.0\\.1:${port} is taken`));
        return true;
      });
    } finally {
      server.close();
    }
  });

  const cases: { name: string; cni: object; resolv: string; registry: string | undefined; expect: RegExp }[] =
    [
      {
        name: 'when the CNI config gives pods a default route',
        cni: {
          plugins: [{ ipam: { ranges: [[{ subnet: '198.18.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] } }],
        },
        resolv: 'nameserver 127.0.0.1\n',
        registry: 'server = "http://127.0.0.1:9"\n',
        expect: /gives pods a default route/,
      },
      {
        name: "when the pods' resolv.conf names the machine's resolver",
        cni: cniConfig('/tmp/x'),
        resolv: 'nameserver 10.255.255.53\n',
        registry: 'server = "http://127.0.0.1:9"\n',
        expect: /names a non-loopback nameserver/,
      },
      {
        name: 'when containerd could pull from a registry',
        cni: cniConfig('/tmp/x'),
        resolv: 'nameserver 127.0.0.1\n',
        registry: undefined,
        expect: /no image is ever pulled/,
      },
    ];
  for (const c of cases) {
    it(`${c.name}, saying so`, () => {
      const d = mkdtempSync(join(dir, 'case-'));
      writeFileSync(join(d, 'cni.conflist'), JSON.stringify(c.cni));
      writeFileSync(join(d, 'resolv.conf'), c.resolv);
      const hosts = join(d, 'certs.d');
      mkdirSync(join(hosts, '_default'), { recursive: true });
      if (c.registry) writeFileSync(join(hosts, '_default', 'hosts.toml'), c.registry);
      assert.throws(
        () =>
          checkIsolation({
            cniConf: join(d, 'cni.conflist'),
            resolvConf: join(d, 'resolv.conf'),
            registryHosts: hosts,
          }),
        (e: Error & { code?: string }) =>
          e.code === 'ACP_ERR_NODE_NETWORK' && c.expect.test(e.message) && /refuses to start/.test(e.message),
      );
    });
  }
});
