// End-to-end: the HTTP/2 defences of the running sidecar, each driven with
// raw frames (test/e2e/h2-frames.ts) over real mTLS: the SETTINGS it
// announces (100 concurrent streams, header list size, HPACK table size)
// and what happens past them, PING and SETTINGS floods, empty DATA frames,
// PRIORITY floods, rapid reset (CVE-2023-44487), CONTINUATION floods
// (CVE-2024-27316) and a zero window that stalls a response. Each cut is
// asserted on the wire (GOAWAY or RST_STREAM and its code), in
// acp_sidecar_http2_defences_total and in an audit record with its
// ACP_ERR_H2_* code; the sidecar keeps serving other clients.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { h2Request, h2Session } from './h2-client.ts';
import {
  ERR,
  F,
  T,
  data,
  frame,
  headers,
  hpack,
  ping,
  rawH2,
  requestFields,
  rstStream,
  settings,
  type RawH2,
} from './h2-frames.ts';
import { startSidecar, tlsClient, waitFor, type RunningSidecar } from './sidecar-support.ts';

const ACK = frame(T.SETTINGS, F.ACK, 0);
const COMPRESSION_ERROR = 9;

/** The value of `id` in the sidecar's first (non-ACK) SETTINGS frame. */
function announced(h: RawH2, id: number): number | undefined {
  const f = h.reader.frames.find((x) => x.type === T.SETTINGS && (x.flags & F.ACK) === 0);
  if (!f) return undefined;
  for (let i = 0; i + 6 <= f.payload.length; i += 6)
    if (f.payload.readUInt16BE(i) === id) return f.payload.readUInt32BE(i + 2);
  return undefined;
}

async function counter(s: RunningSidecar, reason: string): Promise<number> {
  const line = (await s.metrics())
    .split('\n')
    .find((l) => l.startsWith(`acp_sidecar_http2_defences_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('sidecar: HTTP/2 defences (raw frames at the running process)', () => {
  let s: RunningSidecar;
  before(async () => {
    s = await startSidecar();
  });
  after(async () => {
    await s.stop();
  });

  const open = (): Promise<RawH2> => rawH2(tlsClient(s, { ALPNProtocols: ['h2'] }));

  /** Runs `attack`, then asserts the connection was cut with `goaway`, counted and audited as `code`. */
  async function assertCut(
    code: string,
    goaway: number,
    attack: (h: RawH2) => void | Promise<void>,
  ): Promise<RawH2> {
    const before = await counter(s, code);
    const audited = s.auditRecords().filter((r) => r['reason'] === code).length;
    const h = await open();
    await attack(h);
    assert.ok(await h.closed(10_000), 'the sidecar closed the connection');
    assert.equal(
      h.reader.goaway(),
      goaway,
      `GOAWAY code (frames ${JSON.stringify(h.reader.frames.map((f) => f.type))})`,
    );
    await waitFor(`the counter of ${code}`, async () =>
      (await counter(s, code)) > before ? true : undefined,
    );
    await waitFor(`the audit record of ${code}`, () =>
      s.auditRecords().filter((r) => r['reason'] === code).length > audited ? true : undefined,
    );
    return h;
  }

  it('announces 100 concurrent streams, a header list size and a 4096-byte HPACK table', async () => {
    const h = await open();
    await waitFor('the SETTINGS', () => announced(h, 3));
    assert.equal(announced(h, 3), 100); // MAX_CONCURRENT_STREAMS
    assert.equal(announced(h, 1), 4096); // HEADER_TABLE_SIZE
    assert.ok((announced(h, 6) ?? 0) > 0); // MAX_HEADER_LIST_SIZE
    h.socket.destroy();
  });

  it('refuses streams past the 100 concurrent ones (the connection ends with PROTOCOL_ERROR)', async () => {
    await assertCut('ACP_ERR_H2_PROTOCOL', ERR.PROTOCOL_ERROR, (h) => {
      h.send(ACK);
      for (let i = 0; i < 101; i++) h.send(headers(1 + 2 * i, requestFields('/open'), false));
    });
  });

  it('resets a stream whose header list is over the announced size (ENHANCE_YOUR_CALM)', async () => {
    const h = await open();
    const block = hpack(requestFields('/x', [['x-big', 'a'.repeat(20_000)]]));
    h.send(
      ACK,
      frame(T.HEADERS, F.END_STREAM, 1, block.subarray(0, 10_000)),
      frame(T.CONTINUATION, F.END_HEADERS, 1, block.subarray(10_000)),
    );
    await waitFor('the reset', () => h.reader.reset(1));
    assert.equal(h.reader.reset(1), ERR.ENHANCE_YOUR_CALM);
    assert.equal(h.reader.status(1), undefined);
    h.socket.destroy();
  });

  it('refuses an HPACK dynamic table larger than announced (COMPRESSION_ERROR)', async () => {
    const h = await open();
    const update = Buffer.from([0x3f, 0xe1, 0xff, 0x03]); // table size update to 65,536
    h.send(
      ACK,
      frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, Buffer.concat([update, hpack(requestFields('/x'))])),
    );
    assert.ok(await h.closed(10_000));
    assert.equal(h.reader.goaway(), COMPRESSION_ERROR);
  });

  it('cuts a PING flood (ENHANCE_YOUR_CALM, ACP_ERR_H2_PING_FLOOD)', async () => {
    await assertCut('ACP_ERR_H2_PING_FLOOD', ERR.ENHANCE_YOUR_CALM, (h) => {
      h.send(ACK);
      for (let i = 0; i < 100; i++) h.send(ping(i));
    });
  });

  it('cuts a SETTINGS flood (ENHANCE_YOUR_CALM, ACP_ERR_H2_SETTINGS_FLOOD)', async () => {
    await assertCut('ACP_ERR_H2_SETTINGS_FLOOD', ERR.ENHANCE_YOUR_CALM, (h) => {
      h.send(ACK);
      for (let i = 0; i < 100; i++) h.send(settings([[1, 4096]]));
    });
  });

  it('cuts a flood of empty DATA frames (ACP_ERR_H2_INVALID_FRAME_FLOOD)', async () => {
    await assertCut('ACP_ERR_H2_INVALID_FRAME_FLOOD', ERR.INTERNAL_ERROR, (h) => {
      h.send(ACK, headers(1, requestFields('/up', [], 'POST'), false));
      for (let i = 0; i < 3000; i++) h.send(data(1, ''));
    });
  });

  it('cuts a PRIORITY flood (nghttp2 glitch limit, ENHANCE_YOUR_CALM)', async () => {
    const before = await counter(s, 'ACP_ERR_H2_FLOOD');
    const h = await open();
    const p = Buffer.alloc(5);
    const frames: Buffer[] = [ACK];
    for (let i = 0; i < 50_000; i++) frames.push(frame(T.PRIORITY, 0, 1 + 2 * (i % 1000), p));
    h.send(...frames);
    assert.ok(await h.closed(10_000));
    assert.equal(h.reader.goaway(), ERR.ENHANCE_YOUR_CALM);
    const after = (await counter(s, 'ACP_ERR_H2_FLOOD')) + (await counter(s, 'ACP_ERR_H2_PROTOCOL'));
    assert.ok(after > before, 'counted');
  });

  it('cuts rapid reset, streams opened and reset at once (CVE-2023-44487, ACP_ERR_H2_RAPID_RESET)', async () => {
    const appRequests = s.app.requests.length;
    await assertCut('ACP_ERR_H2_RAPID_RESET', ERR.ENHANCE_YOUR_CALM, async (h) => {
      h.send(ACK);
      for (let i = 0; i < 400 && !h.socket.destroyed; i += 10) {
        for (let k = i; k < i + 10; k++)
          h.send(headers(1 + 2 * k, requestFields('/r')), rstStream(1 + 2 * k));
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    assert.ok(s.app.requests.length - appRequests < 400, 'cut before every stream reached the app');
  });

  it('cuts a CONTINUATION flood (CVE-2024-27316, ACP_ERR_H2_CONTINUATION_FLOOD)', async () => {
    await assertCut('ACP_ERR_H2_CONTINUATION_FLOOD', ERR.INTERNAL_ERROR, (h) => {
      h.send(ACK, frame(T.HEADERS, 0, 1, hpack(requestFields('/c'))));
      for (let i = 0; i < 2000; i++) h.send(frame(T.CONTINUATION, 0, 1, hpack([['x-a', 'b']])));
    });
  });

  it('resets a response stalled by a zero window after the request timeout (ACP_ERR_H2_STALLED)', async () => {
    const before = await counter(s, 'ACP_ERR_H2_STALLED');
    const h = await rawH2(tlsClient(s, { ALPNProtocols: ['h2'] }), settings([[4, 0]])); // INITIAL_WINDOW_SIZE 0
    h.send(ACK, headers(1, requestFields('/stall')));
    await waitFor('the stall reset', () => h.reader.reset(1), 600);
    assert.equal(h.reader.reset(1), ERR.CANCEL);
    assert.ok(!h.reader.frames.some((f) => f.type === T.DATA && f.streamId === 1), 'no DATA went out');
    await waitFor('the counter', async () =>
      (await counter(s, 'ACP_ERR_H2_STALLED')) > before ? true : undefined,
    );
    h.socket.destroy();
  });

  it('keeps serving other clients after all of the above', async () => {
    const c = h2Session(s);
    const a = await h2Request(c, { ':path': '/still-here' });
    c.close();
    assert.equal(a.status, 200);
  });
});
