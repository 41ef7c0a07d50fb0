// A real https JWKS endpoint for tests, with a certificate from a test CA:
// serves the current key set, and can be switched to fail (500), stall
// (never answer) or send a huge body, per path.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRootCa, createSigner } from '@acp/pki';

export type JwksMode = 'ok' | 'fail' | 'stall' | 'huge';

export interface JwksServer {
  url: (path: string) => string;
  caFile: string;
  setMode: (path: string, mode: JwksMode) => void;
  /** Replaces the key set with one new EC key; returns its kid. */
  rotate: () => string;
  kid: () => string;
  hits: (path: string) => number;
  close: () => Promise<void>;
}

function ecJwk(kid: string): { jwk: Record<string, unknown>; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }, privateKey };
}

export async function startJwksServer(): Promise<JwksServer> {
  const now = new Date();
  const root = await createRootCa({
    commonName: 'jwks test ca',
    keyAlgorithm: 'ECDSA-P256',
    lifetimeMs: 86_400_000,
    now,
  });
  const leaf = await createSigner(root.certPem, root.keyPem).issue({
    commonName: 'idp.test',
    ipSans: ['127.0.0.1'],
    dnsSans: ['localhost'],
    keyAlgorithm: 'ECDSA-P256',
    lifetimeMs: 86_400_000,
    backdateMs: 60_000,
    usages: ['serverAuth'],
    now,
  });
  const dir = mkdtempSync(join(tmpdir(), 'acp-jwks-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, root.certPem);
  let generation = 1;
  let current = ecJwk(`key-${generation}`);
  const modes = new Map<string, JwksMode>();
  const hits = new Map<string, number>();
  const stalled: { destroy: () => void }[] = [];
  const server: Server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const mode = modes.get(path) ?? 'ok';
    if (mode === 'stall') {
      stalled.push(req.socket);
      return;
    }
    if (mode === 'fail') {
      res.writeHead(500).end('identity provider down');
      return;
    }
    if (mode === 'huge') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"keys":[${Array.from({ length: 40_000 }, () => JSON.stringify(current.jwk)).join(',')}]}`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [current.jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: (path) => `https://127.0.0.1:${port}${path}`,
    caFile,
    setMode: (path, mode) => modes.set(path, mode),
    rotate: () => {
      generation++;
      current = ecJwk(`key-${generation}`);
      return `key-${generation}`;
    },
    kid: () => `key-${generation}`,
    hits: (path) => hits.get(path) ?? 0,
    close: () =>
      new Promise((r) => {
        for (const s of stalled) s.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
