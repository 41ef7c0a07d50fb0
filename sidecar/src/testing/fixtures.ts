// Test-only: a valid SidecarConfig to start from, an identity directory laid
// out the way kubelet projects it (files behind a `..data` symlink that a
// rotation swaps atomically), and a small upstream app that counts every
// byte it receives (so a test can assert a refused request delivered none).
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { SidecarConfig } from '@acp/crds/sidecar';

export const TRUST_DOMAIN = 'cluster.local';
export const SERVER_ID = 'spiffe://cluster.local/ns/payments/sa/payments';
export const CLIENT_ID = 'spiffe://cluster.local/ns/shop/sa/checkout';

export function baseConfig(upstreamPort: number): SidecarConfig {
  return {
    apiVersion: 'sidecar.acp.dev/v1',
    kind: 'SidecarConfig',
    policy: { namespace: 'payments', name: 'payments', generation: 1 },
    mode: 'Enforce',
    trustDomain: TRUST_DOMAIN,
    listeners: { inboundPort: 8443, adminPort: 15021, outboundPort: 15001 },
    upstream: { host: '127.0.0.1', port: upstreamPort, connectTimeoutMs: 1000 },
    tls: {
      minVersion: 'TLSv1.2',
      tls13CipherSuites: ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'],
      tls12CipherSuites: ['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
      hsts: { header: 'max-age=31536000; includeSubDomains' },
    },
    mtls: { mode: 'Strict', allowedPeers: [] },
    jwt: null,
    limits: {
      maxRequestBytes: 4096,
      maxHeaderBytes: 4096,
      maxUrlBytes: 2048,
      requestTimeoutMs: 2000,
      headersTimeoutMs: 2000,
      maxConnections: 1024,
      maxPendingHandshakesPerAddress: 64,
      rateLimit: null,
    },
    egress: { default: 'Deny', allow: [] },
    audit: { enabled: true, includeHeaders: ['x-request-id'] },
  };
}

/** Writes a projected-volume style directory: files live in a timestamped dir, `..data` points at it. */
export function writeProjected(dir: string, files: Record<string, string>, generation: number): void {
  mkdirSync(dir, { recursive: true });
  const versioned = `..${generation}_files`;
  mkdirSync(join(dir, versioned), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, versioned, name), text);
  const tmpLink = join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(versioned, tmpLink);
  renameSync(tmpLink, join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // already linked through ..data
    }
  }
}

export interface TestApp {
  readonly server: Server;
  readonly port: number;
  /** Bytes received on every connection (request line, headers and body). */
  bytes(): number;
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }[];
  handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
  close(): Promise<void>;
}

export async function startTestApp(): Promise<TestApp> {
  let bytes = 0;
  const sockets = new Set<Socket>();
  const app: TestApp = {
    server: createServer(),
    port: 0,
    bytes: () => bytes,
    requests: [],
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello from the app\n');
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        app.server.close(() => resolve());
      }),
  };
  app.server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.on('close', () => sockets.delete(s));
  });
  app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      app.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      app.handler(req, res, body);
    });
  });
  await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', r));
  return Object.assign(app, { port: (app.server.address() as AddressInfo).port });
}
