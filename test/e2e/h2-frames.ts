// Test-only: a tiny HTTP/2 frame encoder and reader (RFC 9113 4.1) with
// HPACK's literal-field encoding (no indexing, no Huffman, RFC 7541 6.2.2)
// for the raw-frame tests, and a raw h2 client over real mTLS to the
// sidecar that sends frames and collects what comes back. The reader
// decodes frame headers and the payloads tests assert on (RST_STREAM and
// GOAWAY error codes, the :status of a HEADERS frame when it is one of
// HPACK's static-table statuses), never a full HPACK block.
import type { TLSSocket } from 'node:tls';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const T = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const F = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;
export const ERR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  CANCEL: 8,
  ENHANCE_YOUR_CALM: 11,
} as const;

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 5.1); `first` holds the bits above the prefix. */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A header block of literal fields without indexing (new names), as given (any case, any order). */
export function hpack(fields: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    out.push(0x00);
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    out.push(...hpackInt(n.length, 7, 0), ...n, ...hpackInt(v.length, 7, 0), ...v);
  }
  return Buffer.from(out);
}

export function settings(pairs: readonly (readonly [number, number])[] = []): Buffer {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(T.SETTINGS, 0, 0, p);
}

/** The request pseudo-headers for `path` to the sidecar (plus `extra` fields). */
export function requestFields(
  path: string,
  extra: readonly (readonly [string, string])[] = [],
  method = 'GET',
): [string, string][] {
  return [
    [':method', method],
    [':scheme', 'https'],
    [':path', path],
    [':authority', 'payments'],
    ...extra.map(([k, v]) => [k, v] as [string, string]),
  ];
}

export function headers(
  streamId: number,
  fields: readonly (readonly [string, string])[],
  endStream = true,
): Buffer {
  return frame(T.HEADERS, F.END_HEADERS | (endStream ? F.END_STREAM : 0), streamId, hpack(fields));
}

export function data(streamId: number, payload: Buffer | string, endStream = false): Buffer {
  return frame(T.DATA, endStream ? F.END_STREAM : 0, streamId, Buffer.from(payload));
}

export function rstStream(streamId: number, code: number = ERR.CANCEL): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(T.RST_STREAM, 0, streamId, p);
}

export function ping(n: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(n, 4);
  return frame(T.PING, 0, 0, p);
}

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Splits a byte stream into frames (keeps an incomplete tail for the next call). */
export class FrameReader {
  readonly frames: Frame[] = [];
  private buf = Buffer.alloc(0);

  push(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) return;
      this.frames.push({
        type: this.buf[3] ?? 0,
        flags: this.buf[4] ?? 0,
        streamId: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: this.buf.subarray(9, 9 + len),
      });
      this.buf = this.buf.subarray(9 + len);
    }
  }

  /** The error code of the first GOAWAY, if one came. */
  goaway(): number | undefined {
    const g = this.frames.find((f) => f.type === T.GOAWAY);
    return g ? g.payload.readUInt32BE(4) : undefined;
  }

  /** The error code of the RST_STREAM on `streamId`, if one came. */
  reset(streamId: number): number | undefined {
    const r = this.frames.find((f) => f.type === T.RST_STREAM && f.streamId === streamId);
    return r ? r.payload.readUInt32BE(0) : undefined;
  }

  /** The :status of the first HEADERS on `streamId` when HPACK sent it as a static-table index. */
  status(streamId: number): number | undefined {
    const h = this.frames.find((f) => f.type === T.HEADERS && f.streamId === streamId);
    if (!h) return undefined;
    let i = 0;
    while (i < h.payload.length && ((h.payload[i] ?? 0) & 0xe0) === 0x20) i++; // table size updates
    const STATIC: Record<number, number> = {
      0x88: 200,
      0x89: 204,
      0x8a: 206,
      0x8b: 304,
      0x8c: 400,
      0x8d: 404,
      0x8e: 500,
    };
    return STATIC[h.payload[i] ?? 0];
  }
}

export interface RawH2 {
  socket: TLSSocket;
  reader: FrameReader;
  send(...frames: Buffer[]): void;
  /** Resolves when the sidecar closed the connection (or after `ms`). */
  closed(ms: number): Promise<boolean>;
}

/** Opens an h2 connection (ALPN h2) on `socket` (not yet connected), sends the preface and empty SETTINGS. */
export function rawH2(socket: TLSSocket, initial: Buffer = settings()): Promise<RawH2> {
  const reader = new FrameReader();
  let isClosed = false;
  const waiters: (() => void)[] = [];
  socket.on('data', (d: Buffer) => reader.push(d));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    isClosed = true;
    for (const w of waiters) w();
  });
  return new Promise((resolve, reject) => {
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') {
        reject(new Error(`ALPN chose ${String(socket.alpnProtocol)}`));
        return;
      }
      socket.write(Buffer.concat([PREFACE, initial]));
      resolve({
        socket,
        reader,
        send: (...frames) => {
          if (!socket.destroyed) socket.write(Buffer.concat(frames));
        },
        closed: (ms) =>
          new Promise((done) => {
            if (isClosed) return done(true);
            const t = setTimeout(() => done(false), ms);
            waiters.push(() => {
              clearTimeout(t);
              done(true);
            });
          }),
      });
    });
    socket.once('error', reject);
  });
}
