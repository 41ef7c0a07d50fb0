// Test-only: a small gRPC service (@grpc/grpc-js, raw bytes as messages:
// no protobuf compiler needed) with the four call shapes, served as h2c on
// loopback like an app behind the sidecar, and a client for it through the
// sidecar over mTLS (client certificate of the test PKI, authority
// `payments`).
import * as grpc from '@grpc/grpc-js';
import type { Pki } from './sidecar-support.ts';

const raw = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

export const ECHO: grpc.ServiceDefinition = {
  Unary: { path: '/acp.test.Echo/Unary', requestStream: false, responseStream: false, ...raw },
  Public: { path: '/acp.test.Echo/Public', requestStream: false, responseStream: false, ...raw },
  Collect: { path: '/acp.test.Echo/Collect', requestStream: true, responseStream: false, ...raw },
  Repeat: { path: '/acp.test.Echo/Repeat', requestStream: false, responseStream: true, ...raw },
  Chat: { path: '/acp.test.Echo/Chat', requestStream: true, responseStream: true, ...raw },
};

export interface GrpcApp {
  port: number;
  /** Metadata of every call the app received, in order. */
  calls: { path: string; metadata: Record<string, unknown> }[];
  /** Delay before the unary answer (ms). */
  delayMs: number;
  close(): Promise<void>;
}

/** The app: Unary/Public echo `echo:<msg>`; Collect joins the messages; Repeat streams `n` pieces of `size` bytes (request `n,size`); Chat echoes each message. */
export async function startGrpcApp(): Promise<GrpcApp> {
  const server = new grpc.Server();
  const app: GrpcApp = { port: 0, calls: [], delayMs: 0, close: () => Promise.resolve() };
  const seen = (path: string, md: grpc.Metadata): void => {
    app.calls.push({ path, metadata: md.getMap() });
  };
  const unary =
    (path: string): grpc.handleUnaryCall<Buffer, Buffer> =>
    (call, cb) => {
      seen(path, call.metadata);
      const answer = (): void => cb(null, Buffer.concat([Buffer.from('echo:'), call.request]));
      if (app.delayMs > 0) setTimeout(answer, app.delayMs);
      else answer();
    };
  server.addService(ECHO, {
    Unary: unary('Unary'),
    Public: unary('Public'),
    Collect: ((call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      seen('Collect', call.metadata);
      const parts: Buffer[] = [];
      call.on('data', (b: Buffer) => parts.push(b));
      call.on('end', () => cb(null, Buffer.from(`${parts.length}:${Buffer.concat(parts).length}`)));
    }) as grpc.handleClientStreamingCall<Buffer, Buffer>,
    Repeat: ((call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      seen('Repeat', call.metadata);
      const [n, size] = call.request.toString().split(',').map(Number);
      let i = 0;
      const more = (): void => {
        while (i < (n ?? 0)) {
          const piece = Buffer.alloc(size ?? 1, 97 + (i % 26));
          i++;
          if (!call.write(piece)) {
            call.once('drain', more);
            return;
          }
        }
        call.end();
      };
      more();
    }) as grpc.handleServerStreamingCall<Buffer, Buffer>,
    Chat: ((call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      seen('Chat', call.metadata);
      call.on('data', (b: Buffer) => call.write(Buffer.concat([Buffer.from('re:'), b])));
      call.on('end', () => call.end());
    }) as grpc.handleBidiStreamingCall<Buffer, Buffer>,
  });
  app.port = await new Promise<number>((done, fail) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) =>
      e ? fail(e) : done(port),
    ),
  );
  app.close = () => new Promise((done) => server.tryShutdown(() => done()));
  return app;
}

export type EchoClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** A gRPC client to the sidecar on `port` with the test PKI's client identity (TLS, ALPN h2). */
export function echoClient(pki: Pki, port: number): EchoClient {
  const Ctor = grpc.makeGenericClientConstructor(ECHO, 'Echo');
  return new Ctor(
    `127.0.0.1:${port}`,
    grpc.credentials.createSsl(
      Buffer.from(pki.ca.cert),
      Buffer.from(pki.client.key),
      Buffer.from(pki.client.cert),
    ),
    { 'grpc.ssl_target_name_override': 'payments', 'grpc.default_authority': 'payments' },
  ) as EchoClient;
}

export interface UnaryResult {
  value: Buffer | undefined;
  error: grpc.ServiceError | undefined;
}

export function unary(
  c: EchoClient,
  method: 'Unary' | 'Public',
  msg: string,
  md: Record<string, string> = {},
  opts: grpc.CallOptions = {},
): Promise<UnaryResult> {
  const meta = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) meta.set(k, v);
  return new Promise((done) => {
    (c[method] as (...a: unknown[]) => void)(
      Buffer.from(msg),
      meta,
      opts,
      (error: grpc.ServiceError | null, value?: Buffer) => done({ value, error: error ?? undefined }),
    );
  });
}

/**
 * A gRPC client of `target` (a Service name, h2c) whose channel goes
 * through the HTTP proxy on 127.0.0.1:`proxyPort` the way an app's does
 * with HTTP_PROXY: grpc-js reads grpc_proxy when the channel is made, sends
 * `CONNECT target` and speaks h2c with prior knowledge in the tunnel.
 */
export function proxiedEchoClient(proxyPort: number, target: string): EchoClient {
  const Ctor = grpc.makeGenericClientConstructor(ECHO, 'Echo');
  const saved = { grpc_proxy: process.env['grpc_proxy'], no_grpc_proxy: process.env['no_grpc_proxy'] };
  process.env['grpc_proxy'] = `http://127.0.0.1:${proxyPort}`;
  process.env['no_grpc_proxy'] = 'no-such-host.invalid';
  try {
    return new Ctor(target, grpc.credentials.createInsecure()) as EchoClient;
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
  }
}

/** What a server stream (Repeat) delivered: pieces, bytes, and whether each piece's letter came in order. */
export interface Streamed {
  n: number;
  bytes: number;
  inOrder: boolean;
}

/** Reads a Repeat call to its end as a slow reader now and then (a 50 ms pause every 64 pieces: the windows fill, the app must wait). */
export function readRepeat(call: grpc.ClientReadableStream<Buffer>): Promise<Streamed> {
  const got: Streamed = { n: 0, bytes: 0, inOrder: true };
  return new Promise((done, fail) => {
    call.on('data', (b: Buffer) => {
      if (b[0] !== 97 + (got.n % 26)) got.inOrder = false;
      got.n++;
      got.bytes += b.length;
      if (got.n % 64 === 0) {
        call.pause();
        setTimeout(() => call.resume(), 50);
      }
    });
    call.on('end', () => done(got));
    call.on('error', fail);
  });
}
