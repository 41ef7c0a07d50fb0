// The client against a real local HTTP server that accepts a set of
// bearer tokens: a rotated token file is picked up after a 401 without a
// restart, for requests and for watches.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeClient } from './client.ts';
import { systemClock } from './clock.ts';
import { KubeError } from './errors.ts';

describe('KubeClient with a rotating token file', () => {
  const valid = new Set<string>();
  const seen: string[] = [];
  let server: Server;
  let tokenFile: string;
  let client: KubeClient;

  const put = (token: string): void => {
    writeFileSync(`${tokenFile}.tmp`, token);
    renameSync(`${tokenFile}.tmp`, tokenFile);
  };

  before(async () => {
    server = createServer((req, res) => {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      seen.push(token);
      if (!valid.has(token)) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ kind: 'Status', reason: 'Unauthorized', message: 'Unauthorized', code: 401 }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.includes('watch=true')) {
        res.end(
          `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '2' } } })}\n`,
        );
      } else {
        res.end(JSON.stringify({ metadata: { name: 'a' }, token }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    tokenFile = join(mkdtempSync(join(tmpdir(), 'acp-client-')), 'token');
    put('t1');
    valid.add('t1');
    const port = (server.address() as AddressInfo).port;
    client = await KubeClient.connect(
      {
        cluster: { server: `http://127.0.0.1:${port}`, skipTLSVerify: false },
        auth: { tokenFile },
        source: 'test',
      },
      // a recheck period longer than the test: only the 401 makes the client read the file again
      { clock: systemClock, recheckMs: 3_600_000, minReloadMs: 0 },
    );
  });
  after(async () => {
    await client.close();
    server.close();
  });

  it('reloads the token after a 401 and sends the request again, once', async () => {
    assert.deepEqual(await client.get('/api/v1/x'), { metadata: { name: 'a' }, token: 't1' });
    valid.delete('t1');
    valid.add('t2');
    put('t2');
    seen.length = 0;
    assert.deepEqual(await client.get('/api/v1/x'), { metadata: { name: 'a' }, token: 't2' });
    assert.deepEqual(seen, ['t1', 't2']);
  });

  it('reloads the token for a watch too', async () => {
    valid.clear();
    valid.add('t3');
    put('t3');
    const events: string[] = [];
    await client.watch<{ metadata: { name: string } }>(
      '/api/v1/x',
      '1',
      (e) => events.push(`${e.type} ${e.object.metadata.name}`),
      new AbortController().signal,
    );
    assert.deepEqual(events, ['ADDED a']);
  });

  it('leaves no timer behind when a watch is refused or aborted (a stopped informer’s process can exit)', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    valid.clear(); // refused: 401 twice, then a KubeError
    await assert.rejects(client.watch('/api/v1/x', '1', () => undefined, new AbortController().signal));
    const stop = new AbortController();
    stop.abort(new Error('informer stopped'));
    await assert.rejects(client.watch('/api/v1/x', '1', () => undefined, stop.signal));
    assert.equal(timers(), before, 'the watches’ idle timers were cleared');
  });

  it('gives up with a 401 KubeError when the reloaded token is refused too (no loop)', async () => {
    valid.clear();
    seen.length = 0;
    await assert.rejects(client.get('/api/v1/x'), (e: unknown) => e instanceof KubeError && e.status === 401);
    assert.deepEqual(seen, ['t3', 't3']);
  });
});
