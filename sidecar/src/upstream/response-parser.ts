// A strict, incremental HTTP/1.1 response parser for the upstream leg (the
// app on loopback). Bytes are pushed as they arrive; the parser calls its
// sink with the final response head (1xx interim responses are skipped),
// each body piece, and the end of the message, and stops at the end of the
// message so the caller can tell a clean keep-alive connection from one
// with unsolicited bytes after it. Framing follows RFC 9112 section 6.3: no
// body for HEAD, 204 and 304; `Transfer-Encoding: chunked` (the only
// transfer coding accepted); one Content-Length (repeated values must
// agree); otherwise the body runs to the end of the connection. Refused as
// ACP_ERR_UPSTREAM_PROTOCOL: a malformed status line or header, obsolete
// line folding, a bare LF, Content-Length together with
// Transfer-Encoding, conflicting lengths, a 101, an oversized head, a bad
// chunk, and a connection closed mid-message. Pure (no I/O).
import { AcpError } from '@acp/crds/sidecar';
import { fieldLine, trimOws } from '../http/syntax.ts';

export interface ResponseSink {
  /** The final response head: status and the flat [name, value, ...] list, names in lower case. */
  onHead(status: number, headers: string[], contentLength: number | undefined): void;
  onBody(chunk: Buffer): void;
  /** The message is complete; `keepAlive`: the connection may carry another request. */
  onEnd(keepAlive: boolean): void;
}

const IDLE = 0;
const HEAD = 1;
const LENGTH = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_DATA_END = 5;
const TRAILERS = 6;
const UNTIL_CLOSE = 7;

const MAX_LINE = 4096;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** A field value of visible ASCII, obs-text and tabs. */
const valueOk = (value: string): boolean => !BAD_VALUE.test(value);
/**
 * A chunk-size line: hex digits, then chunk extensions `;name` or `;name=value` (a token or a quoted
 * string) with no whitespace anywhere (llhttp refuses the optional whitespace RFC 9112 allows).
 */
const CHUNK_LINE =
  /^([0-9A-Fa-f]{1,12})(?:;[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e]|\\[\t\x20-\x7e])*"))?)*$/;
const DIGITS = /^\d{1,15}$/;
const TAB_IN_TRAILING_OWS = /\t[\t ]*$/;

export function protocolError(message: string): AcpError {
  return new AcpError('ACP_ERR_UPSTREAM_PROTOCOL', `malformed response from the app: ${message}`);
}

interface Head {
  status: number;
  http11: boolean;
  headers: string[];
}

/** Parses a head that ends with CRLF CRLF, walking it line by line (no split, no per-line copies). */
function parseHead(text: string): Head {
  let eol = text.indexOf('\r\n');
  const m = STATUS_LINE.exec(text.slice(0, eol));
  if (!m) throw protocolError('bad status line');
  const headers: string[] = [];
  const end = text.length - 2;
  for (let pos = eol + 2; pos < end; pos = eol + 2) {
    eol = text.indexOf('\r\n', pos);
    const field = fieldLine(text, pos, eol, valueOk);
    if (typeof field === 'string') throw protocolError(field);
    const name = field[0].toLowerCase();
    // llhttp does not read `chunked<TAB>` as chunked (it would read the body to the close).
    if (name === 'transfer-encoding' && TAB_IN_TRAILING_OWS.test(text.slice(pos, eol))) {
      throw protocolError('whitespace after Transfer-Encoding');
    }
    headers.push(name, field[1]);
  }
  return { status: Number(m[2]), http11: m[1] === '1', headers };
}

interface Framing {
  contentLength: number | undefined;
  chunked: boolean;
  close: boolean;
}

/** One Content-Length of digits only: a list or a second header, even of equal values, is refused (as llhttp does). */
function contentLengthOf(value: string, previous: number | undefined): number {
  if (previous !== undefined) throw protocolError('more than one Content-Length');
  if (!DIGITS.test(value)) throw protocolError('bad Content-Length');
  return Number(value);
}

function framing(head: Head): Framing {
  const f: Framing = { contentLength: undefined, chunked: false, close: !head.http11 };
  const h = head.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i] ?? '';
    const value = h[i + 1] ?? '';
    if (name === 'content-length') f.contentLength = contentLengthOf(value, f.contentLength);
    else if (name === 'transfer-encoding') {
      if (f.chunked || value.toLowerCase() !== 'chunked')
        throw protocolError('unsupported Transfer-Encoding');
      f.chunked = true;
    } else if (name === 'connection') {
      if (value.split(',').some((t) => trimOws(t).toLowerCase() === 'close')) f.close = true;
    }
  }
  if (f.chunked && f.contentLength !== undefined)
    throw protocolError('both Content-Length and Transfer-Encoding');
  return f;
}

export class ResponseParser {
  private readonly sink: ResponseSink;
  private readonly maxHeadBytes: number;
  private state = IDLE;
  private headOnly = false;
  private keepAlive = false;
  private head: Buffer | null = null;
  private line = '';
  private remaining = 0;
  private crlf = 0;

  constructor(sink: ResponseSink, maxHeadBytes: number) {
    this.sink = sink;
    this.maxHeadBytes = maxHeadBytes;
  }

  /** True between messages: no response is expected or in progress. */
  get idle(): boolean {
    return this.state === IDLE;
  }

  /** Arms the parser for the response to a request with this method. */
  expect(method: string): void {
    this.state = HEAD;
    this.headOnly = method === 'HEAD';
    this.head = null;
  }

  /**
   * Consumes bytes of the response; returns how many were used. Fewer than
   * `data.length` means the message ended and the rest does not belong to it.
   */
  push(data: Buffer): number {
    let off = 0;
    while (off < data.length && this.state !== IDLE) off = this.step(data, off);
    return off;
  }

  /** The connection ended: completes a body that runs to the close, or throws. */
  end(): void {
    if (this.state === UNTIL_CLOSE) {
      this.finish(false);
      return;
    }
    if (this.state !== IDLE) throw protocolError('connection closed before the response was complete');
  }

  private step(data: Buffer, off: number): number {
    switch (this.state) {
      case HEAD:
        return this.readHead(data, off);
      case LENGTH:
      case CHUNK_DATA:
      case UNTIL_CLOSE:
        return this.readBody(data, off);
      case CHUNK_DATA_END:
        return this.readChunkEnd(data, off);
      default:
        return this.readLine(data, off);
    }
  }

  private readHead(data: Buffer, off: number): number {
    const prev = this.head;
    const buf = prev ? Buffer.concat([prev, data.subarray(off)]) : off === 0 ? data : data.subarray(off);
    const from = prev ? Math.max(0, prev.length - 3) : 0;
    const end = buf.indexOf('\r\n\r\n', from, 'latin1');
    if (end < 0 || end + 4 > this.maxHeadBytes) {
      if (buf.length >= this.maxHeadBytes) throw protocolError('response head too large');
      this.head = Buffer.from(buf);
      return data.length;
    }
    this.head = null;
    const used = end + 4 - (prev ? prev.length : 0);
    this.onHead(parseHead(buf.toString('latin1', 0, end + 4)));
    return off + used;
  }

  private onHead(head: Head): void {
    if (head.status < 200) {
      if (head.status === 101) throw protocolError('unexpected 101 Switching Protocols');
      // Its framing headers must be well-formed too, and it must not end the connection before the
      // final response (llhttp refuses the bytes after such an interim response).
      if (framing(head).close) throw protocolError('interim response closes the connection');
      this.state = HEAD; // an interim response: the final one follows
      return;
    }
    const f = framing(head);
    this.keepAlive = !f.close;
    const noBody = this.headOnly || head.status === 204 || head.status === 304;
    // A HEAD response that does not say how long its body would be: llhttp (node:http) does not keep
    // such a connection, and neither do we (bytes the app sends after it would be the next answer).
    if (
      this.headOnly &&
      !f.chunked &&
      f.contentLength === undefined &&
      head.status !== 204 &&
      head.status !== 304
    ) {
      this.keepAlive = false;
    }
    this.sink.onHead(head.status, head.headers, f.chunked ? undefined : f.contentLength);
    if (noBody || f.contentLength === 0) this.finish(this.keepAlive);
    else if (f.chunked) this.state = CHUNK_SIZE;
    else if (f.contentLength !== undefined) {
      this.state = LENGTH;
      this.remaining = f.contentLength;
    } else {
      this.state = UNTIL_CLOSE;
      this.keepAlive = false;
    }
  }

  private readBody(data: Buffer, off: number): number {
    if (this.state === UNTIL_CLOSE) {
      this.sink.onBody(off === 0 ? data : data.subarray(off));
      return data.length;
    }
    const n = Math.min(this.remaining, data.length - off);
    this.sink.onBody(n === data.length ? data : data.subarray(off, off + n));
    this.remaining -= n;
    if (this.remaining === 0) {
      if (this.state === LENGTH) this.finish(this.keepAlive);
      else {
        this.state = CHUNK_DATA_END;
        this.crlf = 0;
      }
    }
    return off + n;
  }

  private readChunkEnd(data: Buffer, off: number): number {
    const expected = this.crlf === 0 ? 13 : 10;
    if (data[off] !== expected) throw protocolError('chunk data not followed by CRLF');
    this.crlf++;
    if (this.crlf === 2) this.state = CHUNK_SIZE;
    return off + 1;
  }

  /** Chunk-size lines and trailer lines (CRLF-terminated, bounded). */
  private readLine(data: Buffer, off: number): number {
    const nl = data.indexOf(10, off);
    const piece = data.toString('latin1', off, nl < 0 ? data.length : nl);
    if (this.line.length + piece.length > MAX_LINE) throw protocolError('chunk or trailer line too long');
    if (nl < 0) {
      this.line += piece;
      return data.length;
    }
    const raw = this.line + piece;
    this.line = '';
    if (!raw.endsWith('\r')) throw protocolError('bare LF');
    const line = raw.slice(0, -1);
    if (this.state === CHUNK_SIZE) this.onChunkSize(line);
    else if (line === '') this.finish(this.keepAlive);
    else if (typeof fieldLine(line, 0, line.length, valueOk) === 'string') throw protocolError('bad trailer');
    return nl + 1;
  }

  private onChunkSize(line: string): void {
    const m = CHUNK_LINE.exec(line);
    if (!m) throw protocolError('bad chunk size');
    const size = parseInt(m[1] ?? '', 16);
    if (size === 0) this.state = TRAILERS;
    else {
      this.state = CHUNK_DATA;
      this.remaining = size;
    }
  }

  private finish(keepAlive: boolean): void {
    this.state = IDLE;
    this.sink.onEnd(keepAlive);
  }
}
