// A minimal DER encoder and reader: exactly the ASN.1 types an X.509
// certificate of ours needs (SEQUENCE, SET, INTEGER, OID, BIT STRING,
// OCTET STRING, BOOLEAN, UTF8String, IA5String, times, context tags).
// Pure. See ADR-0001-certificate-encoding.md for why this exists.

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
} as const;

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with the given tag byte and content. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export const seq = (...items: Buffer[]): Buffer => tlv(TAG.SEQUENCE, Buffer.concat(items));
export const set = (...items: Buffer[]): Buffer => tlv(TAG.SET, Buffer.concat(items));
export const octetString = (b: Buffer): Buffer => tlv(TAG.OCTET_STRING, b);
export const bitString = (b: Buffer, unusedBits = 0): Buffer =>
  tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), b]));
export const utf8 = (s: string): Buffer => tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
export const bool = (v: boolean): Buffer => tlv(TAG.BOOLEAN, Buffer.from([v ? 0xff : 0x00]));
export const nullValue = (): Buffer => Buffer.from([TAG.NULL, 0x00]);
/** Context-specific tag [n]; constructed for EXPLICIT wrappers, primitive for IMPLICIT strings. */
export const context = (n: number, content: Buffer, constructed: boolean): Buffer =>
  tlv(0x80 | (constructed ? 0x20 : 0) | n, content);

/** A non-negative INTEGER from big-endian bytes (minimal encoding, sign byte added when needed). */
export function unsignedInteger(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  const content = (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
  return tlv(TAG.INTEGER, content);
}

export function smallInteger(n: number): Buffer {
  return unsignedInteger(Buffer.from([n & 0xff]));
}

const oidCache = new Map<string, Buffer>();

export function oid(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  const parts = dotted.split('.').map(Number);
  const [a = 0, b = 0, ...rest] = parts;
  const out: number[] = [a * 40 + b];
  for (const p of rest) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  const encoded = tlv(TAG.OID, Buffer.from(out));
  oidCache.set(dotted, encoded);
  return encoded;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; seconds, Zulu. */
export function time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  if (y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${pad(y % 100)}${rest}`, 'ascii'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${pad(y, 4)}${rest}`, 'ascii'));
}

export interface Node {
  tag: number;
  /** The whole TLV. */
  raw: Buffer;
  content: Buffer;
}

/** Reads the TLV at `offset`; throws on truncated or indefinite-length input. */
export function read(buf: Buffer, offset = 0): Node & { end: number } {
  const tag = buf[offset];
  let len = buf[offset + 1];
  if (tag === undefined || len === undefined) throw new Error('DER: truncated');
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('DER: unsupported length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[offset + 2 + i] ?? 0);
    header += n;
  }
  const end = offset + header + len;
  if (end > buf.length) throw new Error('DER: truncated');
  return { tag, raw: buf.subarray(offset, end), content: buf.subarray(offset + header, end), end };
}

/** The children of a constructed node. */
export function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let off = 0; off < node.content.length;) {
    const child = read(node.content, off);
    out.push(child);
    off = child.end;
  }
  return out;
}
