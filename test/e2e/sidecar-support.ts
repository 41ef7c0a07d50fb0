// Helpers for the sidecar end-to-end tests: a test PKI (openssl CLI), a
// counting upstream app, and the RUNNING sidecar process (`node
// sidecar/src/main.ts --config FILE --identity-dir DIR`) on free loopback
// ports, its stdout (audit records) collected; plus curl, openssl s_client
// and raw-TLS clients. Nothing here sleeps for a fixed time: waits poll a
// condition with an upper bound.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { SidecarConfig } from '@acp/crds';
import { freePort } from '../harness/ports.ts';
import { TestPki, type Issued } from '../../sidecar/src/testing/pki.ts';
import {
  baseConfig,
  CLIENT_ID,
  SERVER_ID,
  startTestApp,
  writeProjected,
  type TestApp,
} from '../../sidecar/src/testing/fixtures.ts';

export { CLIENT_ID, SERVER_ID };
const root = resolve(import.meta.dirname, '..', '..');
export const HSTS = 'max-age=31536000; includeSubDomains';
export const OTHER_ID = 'spiffe://cluster.local/ns/shop/sa/other';

export interface Pki {
  pki: TestPki;
  ca: Issued;
  server: Issued;
  client: Issued;
  other: Issued;
}

/** A root CA, the sidecar's serving/workload cert (DNS name `payments` for curl) and two client workloads. */
export function makePki(dir: string): Pki {
  const pki = new TestPki(dir);
  const ca = pki.root('ca');
  return {
    pki,
    ca,
    server: pki.workload('server', SERVER_ID, 'ca', 'payments'),
    client: pki.workload('client', CLIENT_ID),
    other: pki.workload('other', OTHER_ID),
  };
}

export interface RunningSidecar {
  dir: string;
  pki: Pki;
  app: TestApp;
  config: SidecarConfig;
  ports: { inbound: number; admin: number; outbound: number };
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  auditRecords: () => Record<string, unknown>[];
  /** Rewrites the config (projected-volume style) and returns the new generation. */
  writeConfig: (mutate: (c: SidecarConfig) => void) => void;
  writeIdentity: (files: { cert: string; key: string; ca: string }) => void;
  metrics: () => Promise<string>;
  stop: () => Promise<number | null>;
}

export function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  tries = 400,
  stop: () => boolean = () => false,
): Promise<T> {
  return new Promise((done, fail) => {
    let n = 0;
    const tick = (): void => {
      Promise.resolve()
        .then(fn)
        .then(
          (v) => (v !== undefined ? done(v) : again()),
          () => again(),
        );
    };
    const again = (): void => {
      if (stop()) fail(new Error(`stopped waiting for ${what}`));
      else if (++n > tries) fail(new Error(`gave up waiting for ${what}`));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

/**
 * startSidecarOnce, again with new ports when the sidecar could not listen: a
 * port picked free can be taken before the sidecar binds it (another test's
 * server, or any connection's ephemeral source port on this machine).
 */
export async function startSidecar(
  mutate: (c: SidecarConfig) => void = () => undefined,
  opts: SidecarOptions = {},
): Promise<RunningSidecar> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startSidecarOnce(mutate, opts);
    } catch (e) {
      if (attempt < 3 && /EADDRINUSE/.test(String(e))) continue;
      throw e;
    }
  }
}

export interface SidecarOptions {
  args?: string[];
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  pki?: Pki;
  /** The entry script (default: the TypeScript source, sidecar/src/main.ts). */
  entry?: string;
  /** The workload certificate the sidecar runs with (default: the server's, SERVER_ID). */
  identity?: (pki: Pki) => Issued;
}

async function startSidecarOnce(
  mutate: (c: SidecarConfig) => void,
  opts: SidecarOptions,
): Promise<RunningSidecar> {
  const dir = mkdtempSync(join(tmpdir(), 'acp-sidecar-e2e-'));
  const pki = opts.pki ?? makePki(join(dir, 'pki'));
  const app = await startTestApp();
  const ports = { inbound: await freePort(), admin: await freePort(), outbound: await freePort() };
  const config = baseConfig(app.port);
  config.listeners = { inboundPort: ports.inbound, adminPort: ports.admin, outboundPort: ports.outbound };
  mutate(config);
  let generation = 0;
  const configDir = join(dir, 'config');
  const identityDir = join(dir, 'identity');
  const writeConfig = (m: (c: SidecarConfig) => void): void => {
    m(config);
    writeProjected(configDir, { 'sidecar.json': JSON.stringify(config) }, ++generation);
  };
  const writeIdentity = (f: { cert: string; key: string; ca: string }): void =>
    writeProjected(identityDir, { 'tls.crt': f.cert, 'tls.key': f.key, 'ca.crt': f.ca }, ++generation);
  writeConfig(() => undefined);
  const own = opts.identity?.(pki) ?? pki.server;
  writeIdentity({ cert: own.cert, key: own.key, ca: pki.ca.cert });
  let out = '';
  let err = '';
  const proc = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      opts.entry ?? join(root, 'sidecar/src/main.ts'),
      '--config',
      join(configDir, 'sidecar.json'),
      '--identity-dir',
      identityDir,
      '--host',
      '127.0.0.1',
      ...(opts.args ?? []),
    ],
    { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const metrics = async (): Promise<string> =>
    (await fetch(`http://127.0.0.1:${ports.admin}/metrics`)).text();
  const died = exited.then((code) => {
    throw new Error(`sidecar exited with ${code}`);
  });
  await Promise.race([
    died,
    waitFor(
      'the sidecar to be ready',
      async () => {
        const r = await fetch(`http://127.0.0.1:${ports.admin}/readyz`);
        return r.status === 200 ? true : undefined;
      },
      400,
      () => proc.exitCode !== null || proc.signalCode !== null,
    ),
  ]).catch(async (e: unknown) => {
    proc.kill('SIGKILL');
    await app.close();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${String(e)}\nstderr: ${err}\nstdout: ${out}`);
  });
  died.catch(() => undefined);
  return {
    dir,
    pki,
    app,
    config,
    ports,
    proc,
    stdout: () => out,
    stderr: () => err,
    auditRecords: () =>
      out
        .split('\n')
        .filter((l) => l.includes('"type":"audit"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    writeConfig,
    writeIdentity,
    metrics,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const code = await exited;
      await app.close();
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

export interface CurlResult {
  exit: number;
  status: number;
  headers: Record<string, string>;
  body: string;
  stderr: string;
}

/**
 * curl to the sidecar as `payments` with the given client identity (or none); extra args appended.
 * HTTP/1.1 unless the args say `--http2` (the sidecar offers h2 in ALPN, which curl would choose).
 */
export function curl(
  s: RunningSidecar,
  path: string,
  opts: { cert?: Issued | null; args?: string[] } = {},
): Promise<CurlResult> {
  const cert = opts.cert === undefined ? s.pki.client : opts.cert;
  const args = [
    '-sS',
    '-i',
    '--path-as-is',
    '--max-time',
    '20',
    '--cacert',
    s.pki.ca.certPath,
    '--resolve',
    `payments:${s.ports.inbound}:127.0.0.1`,
    ...(cert ? ['--cert', cert.certPath, '--key', cert.keyPath] : []),
    ...(opts.args?.includes('--http2') ? [] : ['--http1.1']),
    ...(opts.args ?? []),
    `https://payments:${s.ports.inbound}${path}`,
  ];
  return new Promise((done) => {
    const p = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => done(parseHttp(out, code ?? -1, err)));
  });
}

export function parseHttp(raw: string, exit: number, stderr: string): CurlResult {
  const blocks = raw.split('\r\n\r\n');
  let i = 0;
  while (/^HTTP\/\S+ 100/.test(blocks[i] ?? '') && i < blocks.length - 1) i++;
  const head = blocks[i] ?? '';
  const lines = head.split('\r\n');
  const status = Number(/^HTTP\/\S+ (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
  }
  return { exit, status, headers, body: blocks.slice(i + 1).join('\r\n\r\n'), stderr };
}

/** openssl s_client against the inbound port (async: the test app runs in this process). */
export function sClient(
  s: RunningSidecar,
  args: string[],
  cert: Issued | null = s.pki.client,
): Promise<{ exit: number; out: string }> {
  const p = spawn(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${s.ports.inbound}`,
      '-servername',
      'payments',
      '-CAfile',
      s.pki.ca.certPath,
      ...(cert ? ['-cert', cert.certPath, '-key', cert.keyPath] : []),
      '-ign_eof',
      ...args,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  p.stdin.end('GET /tls-probe HTTP/1.1\r\nHost: payments\r\nConnection: close\r\n\r\n');
  const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
  return new Promise((done) =>
    p.on('close', (code) => {
      clearTimeout(timer);
      done({ exit: code ?? -1, out });
    }),
  );
}

/** Sends raw bytes over mTLS and returns everything the sidecar answered until it closed. */
/** A TLS connection to the inbound port as `payments`, with the client identity (plus `extra` options). */
export function tlsClient(s: RunningSidecar, extra: ConnectionOptions = {}): TLSSocket {
  return connect({
    host: '127.0.0.1',
    port: s.ports.inbound,
    servername: 'payments',
    ca: s.pki.ca.cert,
    cert: s.pki.client.cert,
    key: s.pki.client.key,
    ...extra,
  });
}

export function rawTls(s: RunningSidecar, payload: string): Promise<string> {
  return new Promise((done, fail) => {
    const sock = tlsClient(s);
    let got = '';
    sock.on('secureConnect', () => sock.write(payload));
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    sock.on('close', () => done(got));
    sock.on('error', (e) => (got ? done(got) : fail(e instanceof Error ? e : new Error(String(e)))));
    sock.setTimeout(15_000, () => sock.destroy());
  });
}

export function writeFile(path: string, text: string): void {
  writeFileSync(path, text);
}

export interface ProxyResult {
  status: number;
  body: string;
  headers: string;
}

/** curl through the sidecar's outbound proxy: status, body and (lower-case) response head. */
export function viaProxy(a: RunningSidecar, url: string, extra: string[] = []): Promise<ProxyResult> {
  return new Promise((done) => {
    const p = spawn('curl', [
      '-sS',
      '--max-time',
      '20',
      '-i',
      '-x',
      `http://127.0.0.1:${a.ports.outbound}`,
      '-w',
      '\n%{http_code}',
      ...extra,
      url,
    ]);
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', () => {
      const i = out.lastIndexOf('\n');
      const response = out.slice(0, i);
      const split = response.indexOf('\r\n\r\n');
      done({
        status: Number(out.slice(i + 1)),
        body: split < 0 ? '' : response.slice(split + 4),
        headers: (split < 0 ? response : response.slice(0, split)).toLowerCase(),
      });
    });
  });
}

export type MeshService = NonNullable<SidecarConfig['mesh']>['services'][number];

/** The Service payments/payments on port 8080, fronted by B's inbound port. */
export function paymentsEntry(b: RunningSidecar, over: Partial<MeshService> = {}): MeshService {
  return {
    namespace: 'payments',
    name: 'payments',
    names: ['payments.payments', 'payments.payments.svc', 'payments.payments.svc.cluster.local'],
    ports: [8080],
    address: '127.0.0.1',
    port: b.ports.inbound,
    identities: [SERVER_ID],
    ...over,
  };
}
