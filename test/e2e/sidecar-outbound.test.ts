// End-to-end: the outbound proxy (127.0.0.1:15001 in a pod). The app of
// sidecar A calls through A's proxy; A originates mTLS with its workload
// certificate to sidecar B and checks B's SPIFFE ID against the egress
// entry's peers. Unlisted destinations are refused (egress default Deny).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  OTHER_ID,
  SERVER_ID,
  startSidecar,
  viaProxy,
  waitFor,
  type RunningSidecar,
} from './sidecar-support.ts';

describe('sidecar e2e: outbound proxy', () => {
  let b: RunningSidecar;
  let a: RunningSidecar;
  before(async () => {
    b = await startSidecar();
    a = await startSidecar(
      (c) => {
        c.egress.allow = [{ host: '127.0.0.1', port: b.ports.inbound, peers: [OTHER_ID] }];
      },
      { pki: b.pki },
    );
  });
  after(async () => {
    await a.stop();
    await b.stop();
  });

  it('refuses a peer whose SPIFFE ID is not the expected one with 502, and sends it nothing', async () => {
    const r = await viaProxy(a, `http://127.0.0.1:${b.ports.inbound}/from-a`);
    assert.equal(r.status, 502);
    assert.match(r.body, /ACP_ERR_EGRESS_PEER_MISMATCH/);
    assert.equal(b.app.requests.length, 0, 'nothing reached the app behind the wrong peer');
  });
  it('keeps the app’s idle keep-alive connection open past node’s 5 s default (an app reusing it gets an answer, not a reset)', async () => {
    const sock = connect(a.ports.outbound, '127.0.0.1');
    let got = '';
    sock.on('data', (c: Buffer) => (got += c.toString('latin1')));
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    const ask = async (): Promise<string> => {
      const from = got.length;
      sock.write('GET http://127.0.0.1:9/keep HTTP/1.1\r\nhost: 127.0.0.1:9\r\n\r\n');
      await waitFor('an answer', () => (/\r\n\r\n[\s\S]*\}/.test(got.slice(from)) ? true : undefined));
      return got.slice(from);
    };
    assert.match(await ask(), /^HTTP\/1\.1 403 /);
    await new Promise((r) => setTimeout(r, 6500));
    assert.equal(isClosed, false, 'the proxy kept the idle connection');
    assert.match(await ask(), /^HTTP\/1\.1 403 /, 'the second request on the same connection is answered');
    sock.destroy();
  });
  it('refuses a destination that is not in egress.allow with 403', async () => {
    const r = await viaProxy(a, 'http://127.0.0.1:9/x');
    assert.equal(r.status, 403);
    assert.match(r.body, /ACP_ERR_EGRESS_DENIED/);
  });
  it('reaches the peer when its SPIFFE ID matches', async () => {
    a.writeConfig(
      (c) => (c.egress.allow = [{ host: '127.0.0.1', port: b.ports.inbound, peers: [SERVER_ID] }]),
    );
    let r = await viaProxy(a, `http://127.0.0.1:${b.ports.inbound}/from-a`);
    for (let i = 0; i < 100 && r.status !== 200; i++) {
      await new Promise((res) => setTimeout(res, 50));
      r = await viaProxy(a, `http://127.0.0.1:${b.ports.inbound}/from-a`);
    }
    assert.equal(r.status, 200);
    assert.equal(b.app.requests.at(-1)?.url, '/from-a');
    assert.equal(
      b.app.requests.at(-1)?.headers['x-acp-peer-id'],
      SERVER_ID,
      'B saw A by its workload identity',
    );
  });
});
