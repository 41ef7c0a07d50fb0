// Recognizes the one request shape the inbound fast path serves itself
// (server/fast-http.ts): an HTTP/1.1 GET, HEAD, DELETE or OPTIONS in
// origin-form with exactly one Host, well-formed header lines of visible
// ASCII, and nothing that frames a body or changes the connection
// (Content-Length, Transfer-Encoding, Expect, Upgrade, TE, Trailer,
// Proxy-Connection, any Connection value but keep-alive). Anything else, or anything it is not
// sure of, is "not simple" (null) and goes to node:http, which answers it
// as before (400, 408, 431, bodies, pipelining of anything else). So this
// parser only has to be right about what it accepts. Pure.
import { fieldLine } from './syntax.ts';

export interface SimpleHead {
  readonly method: string;
  readonly url: string;
  /** Node's flat rawHeaders shape: [name, value, ...] with names as sent. */
  readonly rawHeaders: string[];
}

const METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);
/** Origin-form target of visible ASCII (the path layer canonicalizes or refuses it). */
const REQUEST_LINE = /^([A-Z]+) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
/** Header value: tab and visible ASCII only (obs-text, CR, LF, NUL and other controls are not simple). */
const VALUE = /^[\t\x20-\x7e]*$/;
const visibleAscii = (value: string): boolean => VALUE.test(value);
/** Headers that frame a body or change the connection: node:http handles those requests. */
const NOT_SIMPLE = new Set([
  'content-length',
  'transfer-encoding',
  'expect',
  'upgrade',
  'te',
  'trailer',
  // llhttp reads it as Connection (`Proxy-Connection: close` closes in node:http).
  'proxy-connection',
]);
const MAX_HEADERS = 100;

/** False for the headers that make a request not simple (lower-case name). */
function simpleHeader(lower: string, value: string): boolean {
  if (NOT_SIMPLE.has(lower)) return false;
  return lower !== 'connection' || value.toLowerCase() === 'keep-alive';
}

/**
 * Parses `text`, a request head up to and including the CRLF of its last
 * header line (the blank line not included), or returns null when the
 * request is not the simple shape above.
 */
export function parseSimpleHead(text: string): SimpleHead | null {
  if (!text.endsWith('\r\n')) return null;
  let eol = text.indexOf('\r\n');
  const line = REQUEST_LINE.exec(text.slice(0, eol));
  if (!line || !METHODS.has(line[1] ?? '')) return null;
  const rawHeaders: string[] = [];
  let hosts = 0;
  for (let pos = eol + 2; pos < text.length; pos = eol + 2) {
    eol = text.indexOf('\r\n', pos);
    const h = fieldLine(text, pos, eol, visibleAscii);
    if (typeof h === 'string') return null;
    const lower = h[0].toLowerCase();
    if (!simpleHeader(lower, h[1])) return null;
    if (lower === 'host') hosts++;
    rawHeaders.push(h[0], h[1]);
    if (rawHeaders.length > 2 * MAX_HEADERS) return null;
  }
  if (hosts !== 1) return null;
  return { method: line[1] ?? '', url: line[2] ?? '', rawHeaders };
}
