// Test-only: node:http's own HTTP/1.1 parser (llhttp, through the
// HTTPParser binding that node:http itself drives, exported by the
// node:_http_common module) run over a byte string. It is the reference the
// sidecar's hand-written head parsers are fuzzed against
// (testing/http-diff.ts): strict (no lenient flags, as node:http runs it
// without --insecure-http-parser), with node:http's header size limit, and
// answering the callbacks as node:http does (a HEAD response and a 1xx
// response have no body). No socket: the parser is fed the bytes directly,
// which is what node:http does with each read. A real node:http server on
// loopback checks that this driver gives the same verdicts
// (http/http-diff.test.ts).
import { createRequire } from 'node:module';

interface ParserBinding {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code?: string; bytesParsed?: number });
  finish(): undefined | (Error & { code?: string });
  close(): void;
  [callback: number]: unknown;
}

interface ParserModule {
  HTTPParser: {
    new (): ParserBinding;
    REQUEST: number;
    RESPONSE: number;
    kOnMessageBegin: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
    kLenientNone: number;
  };
  methods: string[];
}

/** The arguments node's parser passes to kOnHeadersComplete, in its order. */
type HeadersComplete = [
  major: number,
  minor: number,
  headers: string[] | undefined,
  method: number | undefined,
  url: string | undefined,
  status: number | undefined,
  reason: string | undefined,
  upgrade: boolean,
  keepAlive: boolean,
];

const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common') as ParserModule;

export interface LlhttpMessage {
  version: string;
  method: string | undefined;
  url: string;
  status: number;
  /** Names as sent, values as node:http gives them (surrounding whitespace removed). */
  rawHeaders: string[];
  upgrade: boolean;
  keepAlive: boolean;
  body: Buffer;
  headersComplete: boolean;
  complete: boolean;
}

export interface LlhttpResult {
  /** Every message begun, in order. */
  messages: LlhttpMessage[];
  /** The HPE_* code of a refusal, or null. */
  error: string | null;
  /** Bytes consumed (up to the error, when there is one). */
  parsed: number;
}

export interface LlhttpOptions {
  maxHeaderSize: number;
  /** A response to HEAD: no body (node:http's client answers the callback with 1). */
  headResponse?: boolean;
  /** The connection ended after the bytes (completes a body that runs to the close). */
  eof?: boolean;
}

export function llhttpParse(kind: 'request' | 'response', data: Buffer, o: LlhttpOptions): LlhttpResult {
  const parser = new HTTPParser();
  const messages: LlhttpMessage[] = [];
  let pending: string[] = [];
  let pendingUrl = '';
  const current = (): LlhttpMessage | undefined => messages[messages.length - 1];
  parser[HTTPParser.kOnMessageBegin] = (): void => {
    messages.push({
      version: '',
      method: undefined,
      url: '',
      status: 0,
      rawHeaders: [],
      upgrade: false,
      keepAlive: false,
      body: Buffer.alloc(0),
      headersComplete: false,
      complete: false,
    });
  };
  // Long header lists arrive in pieces before headers-complete (node:http's parserOnHeaders).
  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string): void => {
    pending.push(...headers);
    pendingUrl += url;
  };
  parser[HTTPParser.kOnHeadersComplete] = (...args: HeadersComplete): number => {
    const [major, minor, headers, method, url, status, , upgrade, keepAlive] = args;
    const m = current();
    if (m) {
      m.version = `${major}.${minor}`;
      m.method = method === undefined ? undefined : methods[method];
      m.url = url === undefined || url === '' ? pendingUrl : url; // as node:http's parserOnHeadersComplete
      m.status = status ?? 0;
      m.rawHeaders = headers ?? pending;
      m.upgrade = upgrade;
      m.keepAlive = keepAlive;
      m.headersComplete = true;
    }
    pending = [];
    pendingUrl = '';
    const interim = (status ?? 0) >= 100 && (status ?? 0) < 200;
    return kind === 'response' && (o.headResponse === true || interim) ? 1 : 0;
  };
  parser[HTTPParser.kOnBody] = (b: Buffer): void => {
    const m = current();
    if (m) m.body = Buffer.concat([m.body, b]);
  };
  parser[HTTPParser.kOnMessageComplete] = (): void => {
    const m = current();
    if (m) m.complete = true;
  };
  parser.initialize(
    kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE,
    {},
    o.maxHeaderSize,
    HTTPParser.kLenientNone,
  );
  try {
    const r = parser.execute(data);
    if (typeof r !== 'number')
      return { messages, error: r.code ?? 'HPE_UNKNOWN', parsed: r.bytesParsed ?? 0 };
    if (o.eof) {
      const f = parser.finish();
      if (f) return { messages, error: f.code ?? 'HPE_UNKNOWN', parsed: r };
    }
    return { messages, error: null, parsed: r };
  } finally {
    parser.close();
  }
}
