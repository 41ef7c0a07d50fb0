// What a Node TLS proxy can do on this machine at best, for reading the
// sidecar's ratio to nginx: nginx (the proxy of run.ts), a minimal Node
// proxy (node:https in, one pooled keep-alive socket per in-flight request
// to the same upstream, response relayed; no policy, no audit, no parser
// beyond finding Content-Length), the same proxy without node:http (a raw
// TLS server that finds each request head by its blank line and answers
// with one string write: what an HTTP layer of our own could reach at
// most), node:https answering 200 itself (no upstream), and the sidecar
// (JWT off, built, the injected command's node flags). Same mTLS material
// and pinning as run.ts (proxy on core 0, oha and the upstream on core 1),
// no memory cgroup for any of them. Each gets oha's keep-alive throughput
// and the 2000 req/s latency probe of run.ts (p99 added over a direct run
// of the same round). Not a product component; run:
// node test/bench/sidecar/node-floor.ts (after install.sh).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { createServer as createTlsServer } from 'node:tls';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TestPki } from '../../../sidecar/src/testing/pki.ts';
import { runOha } from '../oha.ts';
import { latencyProbeArgs, runLoadgen } from '../loadgen.ts';
import { build } from '../../../scripts/build.ts';
import {
  CLIENT_ID,
  PORTS,
  proxyNginx,
  SHIPPED_NODE_FLAGS,
  sidecarArgs,
  sidecarConfig,
  upstreamNginx,
} from './configs.ts';

const PORT = 19443;
const mode = process.argv[2];
if (mode === 'min-proxy' || mode === 'https-200' || mode === 'raw-tls-proxy') {
  const [cert, key, ca] = process.argv.slice(3).map((f) => readFileSync(f));
  const idle: Socket[] = [];
  const head = `GET / HTTP/1.1\r\nhost: 127.0.0.1:${PORTS.upstream}\r\nx-request-id: 0123456789abcdef\r\n\r\n`;
  const headers = (len: number): string[] => [
    'content-length',
    String(len),
    'strict-transport-security',
    'max-age=31536000',
  ];
  /** Sends the fixed request upstream on a pooled socket; `reply` gets the response body. */
  const relay = (reply: (body: Buffer) => void): void => {
    const s = idle.pop() ?? connect(PORTS.upstream, '127.0.0.1');
    let buf: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number(/content-length: *(\d+)/i.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      s.off('data', onData);
      idle.push(s);
      reply(buf.subarray(end + 4, end + 4 + len));
    };
    s.on('data', onData);
    s.write(head, 'latin1');
  };
  const tls = { cert, key, ca, requestCert: true, rejectUnauthorized: true, optimizeEmptyRequests: true };
  const ready = (): boolean => process.stdout.write('READY\n');
  if (mode === 'raw-tls-proxy') {
    // No HTTP server at all: each request head (GET, no body) is found by its
    // blank line and answered with one string write on the TLS socket.
    createTlsServer(tls, (sock) => {
      let pending = '';
      sock.on('data', (d: Buffer) => {
        pending += d.toString('latin1');
        for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
          pending = pending.slice(end + 4);
          relay((body) =>
            sock.write(
              `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nstrict-transport-security: max-age=31536000\r\n\r\n${body.toString('latin1')}`,
              'latin1',
            ),
          );
        }
      });
      sock.on('error', () => sock.destroy());
    }).listen(PORT, '127.0.0.1', ready);
  } else {
    createServer(tls, (_req, res: ServerResponse) => {
      if (mode === 'min-proxy') relay((body) => res.writeHead(200, headers(body.length)).end(body));
      else res.writeHead(200, headers(12)).end('hello world\n');
    }).listen(PORT, '127.0.0.1', ready);
  }
} else {
  const dir = mkdtempSync(join(tmpdir(), 'acp-floor-'));
  const pki = new TestPki(join(dir, 'pki'));
  const ca = pki.root('ca');
  const server = pki.workload('server', 'spiffe://cluster.local/ns/bench/sa/proxy', 'ca', 'localhost');
  const client = pki.workload('client', CLIENT_ID);
  for (const [f, t] of [
    ['ca.crt', ca.cert],
    ['server.crt', server.cert],
    ['server.key', server.key],
    ['upstream.conf', upstreamNginx(dir)],
    ['nginx.conf', proxyNginx(dir)],
  ] as const) {
    writeFileSync(join(dir, f), t);
  }
  for (const d of ['up-tmp', 'nx-tmp', 'identity']) mkdirSync(join(dir, d));
  // The sidecar as run.ts runs it (built dist/, the injected command's node flags), JWT off, audit to a file.
  writeFileSync(join(dir, 'identity/tls.crt'), server.cert);
  writeFileSync(join(dir, 'identity/tls.key'), server.key);
  writeFileSync(join(dir, 'identity/ca.crt'), ca.cert);
  writeFileSync(join(dir, 'sidecar.json'), JSON.stringify(sidecarConfig(null, CLIENT_ID)));
  build(join(dir, 'dist'));
  symlinkSync(resolve(import.meta.dirname, '../../../node_modules'), join(dir, 'dist/node_modules'));
  const audit = openSync(join(dir, 'sidecar.log'), 'a');
  const start = (argv: string[]): ChildProcess =>
    spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', audit, audit] });
  const ready = (port: number): Promise<void> =>
    new Promise((resolve) => {
      const tryOnce = (): void => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve();
        });
        s.on('error', () => setTimeout(tryOnce, 100));
      };
      tryOnce();
    });
  const upstream = start(['taskset', '-c', '1', 'nginx', '-c', join(dir, 'upstream.conf')]);
  const self = process.argv[1]!;
  const node = [process.execPath, self];
  const material = [server.certPath, server.keyPath, ca.certPath];
  const targets: [string, number, string[]][] = [
    ['nginx proxy', PORTS.nginx, ['taskset', '-c', '0', 'nginx', '-c', join(dir, 'nginx.conf')]],
    ['minimal Node proxy', PORT, ['taskset', '-c', '0', ...node, 'min-proxy', ...material]],
    [
      'raw TLS proxy in Node (no HTTP server)',
      PORT,
      ['taskset', '-c', '0', ...node, 'raw-tls-proxy', ...material],
    ],
    ['node:https answering 200 itself', PORT, ['taskset', '-c', '0', ...node, 'https-200', ...material]],
    [
      'the sidecar (JWT off)',
      PORTS.sidecar,
      [
        'taskset',
        '-c',
        '0',
        process.execPath,
        ...SHIPPED_NODE_FLAGS,
        join(dir, 'dist/sidecar/src/main.js'),
      ].concat(sidecarArgs(join(dir, 'sidecar.json'), join(dir, 'identity'))),
    ],
  ];
  const tls = ['--cacert', ca.certPath, '--cert', client.certPath, '--key', client.keyPath];
  // The latency probe of run.ts (10 s), straight to the upstream and through each proxy.
  const probe = (url: string): Promise<{ p99ms: number }> =>
    runLoadgen(
      latencyProbeArgs(url, 10, { ca: ca.certPath, cert: client.certPath, key: client.keyPath }),
      '1',
    );
  await ready(PORTS.upstream);
  for (let round = 1; round <= 3; round++) {
    const direct = (await probe(`http://127.0.0.1:${PORTS.upstream}/`)).p99ms;
    process.stdout.write(
      `round ${round} direct to the upstream: p99 ${direct.toFixed(2)} ms at 2000 req/s\n`,
    );
    for (const [name, port, argv] of targets) {
      const p = start(argv);
      await ready(port);
      const url = `https://localhost:${port}/`;
      await runOha(['-c', '64', '-z', '2s', ...tls, url], '1');
      const r = await runOha(['-c', '64', '-z', '8s', ...tls, url], '1');
      const lat = await probe(url);
      process.stdout.write(
        `round ${round} ${name}: ${r.rps.toFixed(0)} req/s, non-200 ${r.total - (r.statuses['200'] ?? 0)}, at 2000 req/s p99 ${lat.p99ms.toFixed(2)} ms (added ${(lat.p99ms - direct).toFixed(2)})\n`,
      );
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGTERM');
      await exited;
    }
  }
  upstream.kill('SIGTERM');
}
