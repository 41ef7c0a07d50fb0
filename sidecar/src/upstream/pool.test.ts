import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, describe, it } from 'node:test';
import type { AcpError } from '@acp/crds/sidecar';
import { UpstreamPool, type Exchange, type UpstreamHandler } from './pool.ts';

interface Outcome {
  status?: number;
  headers?: string[];
  body: string;
  error?: AcpError;
  afterHead?: boolean;
}

/** A raw TCP app: `onRequest` gets each request head (and body bytes, if any) and the socket. */
interface RawApp {
  port: number;
  connections: number;
  received: string;
  close(): Promise<void>;
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function rawApp(onRequest: (head: string, socket: Socket, n: number) => void): Promise<RawApp> {
  const app: RawApp = { port: 0, connections: 0, received: '', close: () => Promise.resolve() };
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    app.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    socket.on('data', (d: Buffer) => {
      app.received += d.toString('latin1');
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end + 4);
        buf = buf.slice(end + 4);
        onRequest(head, socket, ++n);
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.port = (server.address() as AddressInfo).port;
  app.close = () =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return app;
}

const OK = (body: string, extra = ''): string =>
  `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;

function pool(port: number, o: Partial<ConstructorParameters<typeof UpstreamPool>[0]> = {}): UpstreamPool {
  return new UpstreamPool({
    host: '127.0.0.1',
    port,
    maxConnections: 8,
    connectTimeoutMs: 1000,
    keepAliveMs: 4000,
    maxHeadBytes: 16384,
    nowMs: Date.now,
    tickMs: 10,
    ...o,
  });
}

function send(
  p: UpstreamPool,
  o: { method?: string; body?: Buffer | Readable | null; timeoutMs?: number; head?: string } = {},
): Promise<Outcome> {
  const method = o.method ?? 'GET';
  return new Promise((done) => {
    const out: Outcome = { body: '' };
    const handler: UpstreamHandler = {
      onHead(status, headers) {
        out.status = status;
        out.headers = headers;
      },
      onBody(chunk) {
        out.body += chunk.toString();
      },
      onEnd() {
        done(out);
      },
      onError(error, afterHead) {
        out.error = error;
        out.afterHead = afterHead;
        done(out);
      },
    };
    p.request(
      {
        method,
        head: o.head ?? `${method} / HTTP/1.1\r\nhost: app\r\n\r\n`,
        body: o.body ?? null,
        timeoutMs: o.timeoutMs ?? 2000,
      },
      handler,
    );
  });
}

/** A caller that calls `then` (on the next turn) when its exchange ends. */
class EndsThen implements UpstreamHandler {
  private readonly then: () => void;
  constructor(then: () => void) {
    this.then = then;
  }
  onHead(): void {}
  onBody(): void {}
  onEnd(): void {
    setImmediate(this.then);
  }
  onError(): void {}
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('UpstreamPool', () => {
  it('carries sequential requests over one keep-alive connection', async () => {
    const app = await rawApp((_h, s, n) => s.write(OK(`r${n}`)));
    const p = pool(app.port);
    assert.equal((await send(p)).body, 'r1');
    assert.equal((await send(p)).body, 'r2');
    assert.equal(app.connections, 1);
    assert.deepEqual(p.stats, { open: 1, idle: 1, queued: 0, inFlight: 0 });
    await p.close();
  });
  it('queues requests beyond maxConnections and serves them in order', async () => {
    const app = await rawApp((_h, s, n) => setTimeout(() => s.write(OK(`r${n}`)), 5));
    const p = pool(app.port, { maxConnections: 1 });
    const got = await Promise.all([send(p), send(p), send(p)]);
    assert.deepEqual(
      got.map((g) => g.body),
      ['r1', 'r2', 'r3'],
    );
    assert.equal(app.connections, 1);
    await p.close();
  });
  it('sends a bodiless GET again on a new connection when a reused one closes before answering', async () => {
    const app = await rawApp((_h, s, n) => (n === 2 ? s.destroy() : s.write(OK(`r${n}`))));
    const p = pool(app.port);
    await send(p);
    assert.equal((await send(p)).body, 'r3');
    assert.equal(app.connections, 2);
    await p.close();
  });
  it('does not send a POST again: 502 ACP_ERR_UPSTREAM_UNAVAILABLE', async () => {
    const app = await rawApp((_h, s, n) => (n === 2 ? s.destroy() : s.write(OK(`r${n}`))));
    const p = pool(app.port);
    await send(p, { method: 'POST' });
    const r = await send(p, { method: 'POST', body: Buffer.from('x') });
    assert.equal(r.error?.code, 'ACP_ERR_UPSTREAM_UNAVAILABLE');
    assert.equal(app.connections, 1);
    await p.close();
  });
  it('fails with ACP_ERR_UPSTREAM_UNAVAILABLE when the app refuses the connection', async () => {
    const app = await rawApp(() => undefined);
    await app.close();
    const r = await send(pool(app.port));
    assert.equal(r.error?.code, 'ACP_ERR_UPSTREAM_UNAVAILABLE');
    assert.equal(r.afterHead, false);
  });
  it('fails with ACP_ERR_UPSTREAM_TIMEOUT when the app does not answer in time, and drops the connection', async () => {
    const app = await rawApp(() => undefined);
    const p = pool(app.port);
    const r = await send(p, { timeoutMs: 100 });
    assert.equal(r.error?.code, 'ACP_ERR_UPSTREAM_TIMEOUT');
    assert.equal(p.stats.open, 0);
  });
  it('fails after the head when the app stalls mid-body', async () => {
    const app = await rawApp((_h, s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    const r = await send(pool(app.port), { timeoutMs: 100 });
    assert.equal(r.error?.code, 'ACP_ERR_UPSTREAM_TIMEOUT');
    assert.equal(r.afterHead, true);
  });
  it('fails with ACP_ERR_UPSTREAM_PROTOCOL on a malformed response and closes the connection', async () => {
    const app = await rawApp((_h, s) =>
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab'),
    );
    const p = pool(app.port);
    const r = await send(p);
    assert.equal(r.error?.code, 'ACP_ERR_UPSTREAM_PROTOCOL');
    assert.equal(p.stats.open, 0);
  });
  it('does not reuse a connection that carried bytes after the response', async () => {
    const app = await rawApp((_h, s, n) => s.write(`${OK(`r${n}`)}HTTP/1.1 200 OK\r\n`));
    const p = pool(app.port);
    assert.equal((await send(p)).body, 'r1');
    assert.equal((await send(p)).body, 'r2');
    assert.equal(app.connections, 2);
    await p.close();
  });
  it('does not reuse a connection the app asked to close', async () => {
    const app = await rawApp((_h, s, n) => s.write(OK(`r${n}`, 'connection: close\r\n')));
    const p = pool(app.port);
    await send(p);
    await send(p);
    assert.equal(app.connections, 2);
    await p.close();
  });
  it('streams a request body of known length and keeps the connection', async () => {
    const app = await rawApp((_h, s) => setTimeout(() => s.write(OK('done')), 20));
    const p = pool(app.port);
    const body = Readable.from([Buffer.from('hello '), Buffer.from('world')]);
    const r = await send(p, {
      method: 'POST',
      body,
      head: 'POST / HTTP/1.1\r\nhost: app\r\ncontent-length: 11\r\n\r\n',
    });
    assert.equal(r.body, 'done');
    assert.ok(app.received.endsWith('\r\n\r\nhello world'));
    assert.equal(p.stats.idle, 1);
    await p.close();
  });
  it('writes a body read whole together with the head', async () => {
    const app = await rawApp((_h, s) => s.write(OK('ok')));
    const p = pool(app.port);
    await send(p, {
      method: 'POST',
      body: Buffer.from('abc'),
      head: 'POST / HTTP/1.1\r\ncontent-length: 3\r\n\r\n',
    });
    assert.ok(app.received.endsWith('\r\n\r\nabc'));
    await p.close();
  });
  it('closes the connection and calls nothing more when the exchange is aborted', async () => {
    const app = await rawApp(() => undefined);
    const p = pool(app.port);
    let called = false;
    const ex = p.request(
      { method: 'GET', head: 'GET / HTTP/1.1\r\n\r\n', body: null, timeoutMs: 5_000 },
      {
        onHead: () => (called = true),
        onBody: () => (called = true),
        onEnd: () => (called = true),
        onError: () => (called = true),
      },
    );
    await until(() => app.connections === 1);
    ex.abort();
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(called, false);
    assert.deepEqual(p.stats, { open: 0, idle: 0, queued: 0, inFlight: 0 });
  });
  it('closes connections idle for longer than keepAliveMs', async () => {
    const app = await rawApp((_h, s) => s.write(OK('x')));
    const p = pool(app.port, { keepAliveMs: 30 });
    await send(p);
    await until(() => p.stats.open === 0);
    assert.equal(p.stats.open, 0);
  });
  it('forgets an idle connection the app closes', async () => {
    let last: Socket | undefined;
    const app = await rawApp((_h, s) => {
      last = s;
      s.write(OK('x'));
    });
    const p = pool(app.port);
    await send(p);
    last?.end();
    await until(() => p.stats.open === 0);
    assert.equal(p.stats.idle, 0);
    await p.close();
  });

  it('lets go of the request and its caller once the exchange ends, while the exchange itself is still referenced', async () => {
    // A caller (the relay) may keep its exchange past the end, and the exchange may already sit in
    // V8's old generation; either way it must not keep the request's objects alive (pool.ts release).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const app = await rawApp((_h, s) => s.write(OK('done')));
    const p = pool(app.port);
    let kept: Exchange | undefined;
    const refs = await new Promise<WeakRef<object>[]>((resolve) => {
      const request = {
        method: 'GET',
        head: 'GET / HTTP/1.1\r\nhost: app\r\n\r\n',
        body: null,
        timeoutMs: 2000,
      };
      const caller = new EndsThen(() => resolve([new WeakRef(caller), new WeakRef(request)]));
      kept = p.request(request, caller);
    });
    // No deref() before the collections: a deref keeps its target alive until the end of the job.
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(kept, 'the exchange is still referenced');
    assert.equal(refs[0]?.deref(), undefined, 'the ended exchange still holds its caller');
    assert.equal(refs[1]?.deref(), undefined, 'the ended exchange still holds its request');
    await p.close();
  });
});
