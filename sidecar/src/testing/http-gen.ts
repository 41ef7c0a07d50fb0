// Test-only: seeded generators of HTTP/1.1 request heads and responses for
// the differential fuzzing of the sidecar's parsers (testing/http-diff.ts).
// Mostly well-formed messages with the variations parsers disagree on
// (methods, targets, versions, separators, line endings, obs-fold,
// whitespace around names and values, control and non-ASCII bytes, every
// framing header and its odd spellings, chunk sizes, extensions, trailers,
// interim responses), then byte-level mutations. Text is latin1 (one char
// per byte). Pure over the random source; the same seed gives the same
// cases.

/** A small, fast, seeded PRNG (mulberry32). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Usually the first (common) choice, otherwise one of the others. */
  usually<T>(common: T, others: readonly T[], p = 0.85): T {
    return this.chance(p) || others.length === 0 ? common : this.pick(others);
  }
}

/** The random source of case `index` of a run seeded with `seed` (so one case can be replayed alone). */
export function caseRng(seed: number, index: number): Rng {
  return new Rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
}

const SPECIAL = [
  '\r',
  '\n',
  '\0',
  '\t',
  ' ',
  ':',
  ';',
  ',',
  '"',
  '\x7f',
  '\x80',
  '\xff',
  '\x0b',
  '\x0c',
  '\x1f',
  '#',
  '%',
];
const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

function randomChar(r: Rng): string {
  if (r.chance(0.6)) return r.pick(SPECIAL);
  return String.fromCharCode(r.int(0, 255));
}

function token(r: Rng, min = 1, max = 8): string {
  let s = '';
  for (let i = r.int(min, max); i > 0; i--) s += TOKEN_CHARS[r.int(0, TOKEN_CHARS.length - 1)] ?? 'x';
  return s;
}

/** A string of `n` chars, mostly visible ASCII, sometimes anything. */
function text(r: Rng, n: number, oddness = 0.05): string {
  let s = '';
  for (let i = 0; i < n; i++) s += r.chance(oddness) ? randomChar(r) : String.fromCharCode(r.int(0x21, 0x7e));
  return s;
}

const EOLS = ['\n', '\r', '\r\r\n', '\n\r', '\r\n\r\n', ''];
const eol = (r: Rng): string => r.usually('\r\n', EOLS, 0.96);
const OWS = ['', ' ', '  ', '\t', ' \t', '\x0b', '\xa0'];
const ows = (r: Rng): string => r.usually('', OWS, 0.7);

function field(r: Rng, name: string, value: string): string {
  const colon = r.usually(':', [' :', '\t:', '', '::', ': :'], 0.97);
  let line = `${name}${colon}${r.usually(' ', OWS, 0.8)}${value}${ows(r)}${eol(r)}`;
  if (r.chance(0.02)) line += `${r.pick([' ', '\t'])}${token(r)}\r\n`; // obs-fold
  return line;
}

const REQUEST_METHODS = [
  'GET',
  'HEAD',
  'DELETE',
  'OPTIONS',
  'POST',
  'PUT',
  'PATCH',
  'CONNECT',
  'TRACE',
  'PRI',
  'get',
  'Get',
  'GET\0',
  'G ET',
  'MKCOL',
];
const VERSIONS = [
  'HTTP/1.0',
  'HTTP/1.2',
  'HTTP/2.0',
  'HTTP/0.9',
  'http/1.1',
  'HTTP/11',
  'HTTP/1.10',
  'HTTP/1.1 ',
  'HTTP /1.1',
  'HTTP/1.',
  'HTTP/1.1\0',
  'ICE/1.1',
  'RTSP/1.0',
];
const CONNECTION = [
  'keep-alive',
  'Keep-Alive',
  'close',
  'Close',
  'upgrade',
  'keep-alive, upgrade',
  'keep-alive, close',
  'x-a',
  'keep-alive,',
  ',keep-alive',
  ' keep-alive',
  'TE',
];
const LENGTHS = [
  '0',
  '5',
  '00',
  '+5',
  '-1',
  '5 5',
  '5, 5',
  '5,6',
  '0x5',
  '',
  '5\t',
  '99999999999999999999',
  '1e3',
];
const CODINGS = [
  'chunked',
  'Chunked',
  'CHUNKED',
  ' chunked',
  'chunked ',
  'gzip, chunked',
  'chunked, gzip',
  'identity',
  'chunked,',
  ',chunked',
  'chunked, chunked',
  'gzip',
  'chunked\t',
  'x-chunked',
];

function requestHeader(r: Rng): string {
  const kind = r.int(0, 11);
  switch (kind) {
    case 0:
      return field(
        r,
        r.pick(['Host', 'host', 'HOST', 'Host ', ' Host']),
        r.usually('payments', ['a:8443', '', 'a b', text(r, 6, 0.3)]),
      );
    case 1:
      return field(r, r.pick(['Connection', 'connection', 'Proxy-Connection']), r.pick(CONNECTION));
    case 2:
      return field(r, r.pick(['Content-Length', 'content-length', 'Content-Length ']), r.pick(LENGTHS));
    case 3:
      return field(
        r,
        r.pick(['Transfer-Encoding', 'transfer-encoding', 'Transfer_Encoding']),
        r.pick(CODINGS),
      );
    case 4:
      return field(
        r,
        r.pick(['Expect', 'Upgrade', 'TE', 'Trailer', 'Keep-Alive', 'HTTP2-Settings']),
        token(r),
      );
    case 5:
      return field(r, 'Authorization', `Bearer ${text(r, r.int(0, 40), 0.02)}`);
    case 6:
      return field(r, token(r), text(r, r.int(0, 30), 0.1));
    case 7:
      return field(r, `${token(r, 1, 3)}${randomChar(r)}${token(r, 0, 3)}`, token(r));
    case 8:
      return `${text(r, r.int(1, 20), 0.2)}${eol(r)}`;
    default:
      return field(
        r,
        r.pick(['Accept', 'User-Agent', 'X-Request-Id', 'X-Forwarded-For', 'Cookie']),
        text(r, r.int(0, 24), 0.03),
      );
  }
}

function target(r: Rng): string {
  const kind = r.int(0, 9);
  if (kind === 0) return r.pick(['*', 'http://a/x', 'a/b', '', '//x', '/ x', '/\t', 'https://payments/']);
  if (kind === 1) return `/${text(r, r.int(0, 20), 0.3)}`;
  return `/${token(r, 0, 6)}${r.chance(0.3) ? `?${token(r, 1, 6)}=${token(r, 0, 6)}` : ''}${r.chance(0.05) ? `#${token(r)}` : ''}`;
}

/** A request head (with its blank line), sometimes followed by the bytes of a next request. */
export function generateRequest(r: Rng): string {
  const sp = (): string => r.usually(' ', ['  ', '\t', '', '\x0b', ' \r'], 0.97);
  let out = r.chance(0.02) ? '\r\n' : '';
  out += `${r.usually(r.pick(['GET', 'HEAD', 'DELETE', 'OPTIONS']), REQUEST_METHODS, 0.85)}${sp()}${target(r)}${sp()}`;
  out += `${r.usually('HTTP/1.1', VERSIONS, 0.9)}${eol(r)}`;
  const hostFirst = r.chance(0.9);
  if (hostFirst) out += field(r, 'Host', 'payments');
  for (let i = r.int(0, 6); i > 0; i--) out += requestHeader(r);
  out += r.usually('\r\n', ['\n', '\r\n\r\n', ' \r\n', '\r'], 0.97);
  if (r.chance(0.1)) out += `GET / HTTP/1.1\r\nHost: a\r\n\r\n`;
  return out;
}

function chunkedBody(r: Rng): string {
  let out = '';
  for (let i = r.int(0, 3); i > 0; i--) {
    const size = r.int(1, 20);
    let sizeText = size.toString(16);
    sizeText = r.usually(sizeText, [
      sizeText.toUpperCase(),
      `0${sizeText}`,
      `000000000000${sizeText}`,
      `${sizeText} `,
      ` ${sizeText}`,
      `${sizeText}\t`,
      `+${sizeText}`,
      `0x${sizeText}`,
    ]);
    const ext = r.usually(
      '',
      [';a=b', ';a', ';', ' ;a=b', ';a="b c"', `;${text(r, 5, 0.3)}`, ';a=b;c=d', '; a=b'],
      0.85,
    );
    const dataLength = r.usually(size, [size - 1, size + 1], 0.95);
    out += `${sizeText}${ext}${eol(r)}${'x'.repeat(Math.max(0, dataLength))}${r.usually('\r\n', ['\n', '', '\r', 'XX'], 0.95)}`;
  }
  out += `${r.usually('0', ['00', '0;a=b', '0 ', '000', 'g'], 0.9)}${eol(r)}`;
  for (let i = r.usually(0, [1, 2], 0.8); i > 0; i--) {
    out += r.chance(0.8) ? field(r, token(r), token(r)) : `${text(r, 8, 0.3)}\r\n`;
  }
  return `${out}${eol(r)}`;
}

export interface GeneratedResponse {
  bytes: string;
  method: 'GET' | 'HEAD';
  /** The connection ends after the bytes. */
  eof: boolean;
}

/** A response (interim responses first, sometimes), its request method, and whether the connection then ends. */
export function generateResponse(r: Rng): GeneratedResponse {
  let out = '';
  for (let i = r.usually(0, [1, 2], 0.9); i > 0; i--) {
    out += `HTTP/1.1 ${r.pick(['100 Continue', '102 Processing', '103 Early Hints', '199 X', '101 Switching Protocols'])}\r\n`;
    if (r.chance(0.3)) out += field(r, 'Link', '</a>; rel=preload');
    out += '\r\n';
  }
  const status = r.usually(r.pick(['200', '404', '500', '201']), [
    '204',
    '304',
    '100',
    '101',
    '099',
    '2000',
    '20',
    'abc',
    '600',
    '999',
    ' 200',
  ]);
  const reason = r.usually(
    ' OK',
    ['', ' ', ' Weird\tReason', ' caf\xe9', ' \x7f', ' A\rB', ' A\0B', `  ${text(r, 6, 0.3)}`],
    0.85,
  );
  out += `${r.usually('HTTP/1.1', VERSIONS, 0.9)}${r.usually(' ', ['  ', '\t', ''], 0.97)}${status}${reason}${eol(r)}`;
  const framing = r.pick(['length', 'length', 'chunked', 'chunked', 'close', 'both', 'none']);
  const bodyLength = r.int(0, 12);
  if (framing === 'length' || framing === 'both') {
    const value = r.usually(
      String(bodyLength),
      LENGTHS.map((l) => l.replace('5', String(bodyLength))),
      0.8,
    );
    out += field(
      r,
      r.usually('Content-Length', ['content-length', 'CONTENT-LENGTH', 'Content-Length ', 'Content_Length']),
      value,
    );
    if (r.chance(0.08))
      out += field(r, 'Content-Length', r.pick([String(bodyLength), String(bodyLength + 1)]));
  }
  if (framing === 'chunked' || framing === 'both') {
    out += field(
      r,
      r.usually('Transfer-Encoding', ['transfer-encoding', 'Transfer-Encoding ', 'Transfer-encoding']),
      r.usually('chunked', CODINGS),
    );
    if (r.chance(0.05)) out += field(r, 'Transfer-Encoding', r.pick(CODINGS));
  }
  if (r.chance(0.3)) out += field(r, 'Connection', r.pick(CONNECTION));
  for (let i = r.int(0, 4); i > 0; i--) out += field(r, token(r), text(r, r.int(0, 16), 0.08));
  out += r.usually('\r\n', ['\n', '\r', ' \r\n'], 0.97);
  out +=
    framing === 'chunked' || (framing === 'both' && r.chance(0.5)) ? chunkedBody(r) : 'b'.repeat(bodyLength);
  if (r.chance(0.15)) out += r.pick(['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'xyz', '\r\n']);
  return { bytes: out, method: r.chance(0.1) ? 'HEAD' : 'GET', eof: r.chance(0.5) };
}

/** A few byte-level mutations: replace, insert, delete, duplicate a span, or cut the end. */
export function mutate(r: Rng, input: string): string {
  let s = input;
  for (let n = r.int(1, 3); n > 0; n--) {
    const at = r.int(0, Math.max(0, s.length - 1));
    switch (r.int(0, 5)) {
      case 0:
        s = s.slice(0, at) + randomChar(r) + s.slice(at + 1);
        break;
      case 1:
        s = s.slice(0, at) + randomChar(r) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at + r.int(1, 3));
        break;
      case 3: {
        const span = s.slice(at, at + r.int(1, 12));
        s = s.slice(0, at) + span + s.slice(at);
        break;
      }
      case 4:
        s = s.slice(0, at) + String.fromCharCode(s.charCodeAt(at) ^ (1 << r.int(0, 7))) + s.slice(at + 1);
        break;
      default:
        s = s.slice(0, s.length - r.int(1, 4));
    }
  }
  return s;
}
