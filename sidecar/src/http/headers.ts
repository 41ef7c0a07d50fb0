// Header hygiene for both directions, as pure functions over Node's flat
// raw header arrays: drops hop-by-hop headers and every header named in
// `Connection`, drops what a client must not be able to set (X-Forwarded-*,
// Forwarded, X-Real-IP, X-Forwarded-Client-Cert, x-acp-*, X-Request-ID),
// and appends the values the sidecar vouches for. Also decides the request
// id: a well-formed incoming X-Request-ID is kept (it correlates hops and is
// no security claim), anything else is replaced by a fresh UUID.

/** Hop-by-hop headers (RFC 9110 7.6.1) plus the legacy ones proxies still see. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/** Headers only the sidecar may set towards the app (lower-case name). */
export function isSidecarOwned(lower: string): boolean {
  return (
    lower.startsWith('x-forwarded-') ||
    lower.startsWith('x-acp-') ||
    lower === 'forwarded' ||
    lower === 'x-real-ip' ||
    lower === 'x-request-id' ||
    lower === 'content-length'
  );
}

const REQUEST_ID = /^[A-Za-z0-9._:@-]{8,128}$/;

/** The incoming X-Request-ID when it is well-formed (8-128 of [A-Za-z0-9._:@-]), else undefined. */
export function acceptRequestId(value: string | undefined): string | undefined {
  return value !== undefined && REQUEST_ID.test(value) ? value : undefined;
}

function connectionTokens(raw: readonly string[]): Set<string> | null {
  let tokens: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const t of (raw[i + 1] ?? '').split(',')) {
      const name = t.trim().toLowerCase();
      if (name) (tokens ??= new Set()).add(name);
    }
  }
  return tokens;
}

export interface UpstreamHeaderValues {
  requestId: string;
  clientAddress: string;
  /** The verified peer SPIFFE ID, when the caller presented a certificate. */
  peerId: string | undefined;
  /** This sidecar's own SPIFFE ID (the `By` of X-Forwarded-Client-Cert). */
  selfId: string | undefined;
  /** Headers from forwarded JWT claims (already validated names and values). */
  claimHeaders: readonly (readonly [string, string])[] | undefined;
  /** Body length to announce, when the sidecar buffered or knows it. */
  contentLength: number | undefined;
  /** A Host header to add (the client sent none: HTTP/1.0). */
  host?: string | undefined;
}

/** True for a client header the app gets: not hop-by-hop, not the sidecar's, not named in `Connection`. */
function passesToApp(name: string, named: Set<string> | null): boolean {
  const lower = name.toLowerCase();
  return !(HOP_BY_HOP.has(lower) || isSidecarOwned(lower) || named?.has(lower));
}

/**
 * Calls `emit` for each header sent to the app, in order: the client's
 * minus hop-by-hop and sidecar-owned ones, then the sidecar's;
 * `forwarded` emits the ones that depend only on the connection (see
 * forwardedPairs).
 */
function visitUpstreamHeaders(
  raw: readonly string[],
  v: UpstreamHeaderValues,
  emit: (name: string, value: string) => void,
  forwarded: () => void,
): void {
  const named = connectionTokens(raw);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (passesToApp(name, named)) emit(name, raw[i + 1] ?? '');
  }
  if (v.host !== undefined) emit('host', v.host);
  if (v.contentLength !== undefined) emit('content-length', String(v.contentLength));
  emit('x-request-id', v.requestId);
  forwarded();
  if (v.claimHeaders) for (const [k, val] of v.claimHeaders) emit(k, val);
}

/** X-Forwarded-For, X-Forwarded-Proto, X-ACP-Peer-ID and X-Forwarded-Client-Cert: what depends only on the connection and this sidecar's identity. */
function forwardedPairs(v: Pick<UpstreamHeaderValues, 'clientAddress' | 'peerId' | 'selfId'>): string[] {
  const out = ['x-forwarded-for', v.clientAddress, 'x-forwarded-proto', 'https'];
  if (v.peerId !== undefined) {
    const xfcc = v.selfId ? `By=${v.selfId};URI=${v.peerId}` : `URI=${v.peerId}`;
    out.push('x-acp-peer-id', v.peerId, 'x-forwarded-client-cert', xfcc);
  }
  return out;
}

/** The headers sent to the app, as a flat [name, value, ...] list. */
export function upstreamRequestHeaders(raw: readonly string[], v: UpstreamHeaderValues): string[] {
  const out: string[] = [];
  visitUpstreamHeaders(
    raw,
    v,
    (name, value) => out.push(name, value),
    () => out.push(...forwardedPairs(v)),
  );
  return out;
}

/** forwardedPairs as head text: computed once per connection by the caller, not per request. */
export function forwardedHeadText(
  v: Pick<UpstreamHeaderValues, 'clientAddress' | 'peerId' | 'selfId'>,
): string {
  const pairs = forwardedPairs(v);
  let text = '';
  for (let i = 0; i < pairs.length; i += 2) text += `${pairs[i] ?? ''}: ${pairs[i + 1] ?? ''}\r\n`;
  return text;
}

/**
 * The request head sent to the app (latin-1 text): request line, the
 * headers of upstreamRequestHeaders, the empty line. `forwarded` is
 * forwardedHeadText(v) when the caller keeps it per connection.
 */
export function upstreamRequestHead(
  method: string,
  target: string,
  raw: readonly string[],
  v: UpstreamHeaderValues,
  forwarded: string = forwardedHeadText(v),
): string {
  let head = `${method} ${target} HTTP/1.1\r\n`;
  visitUpstreamHeaders(
    raw,
    v,
    (name, value) => {
      head += `${name}: ${value}\r\n`;
    },
    () => {
      head += forwarded;
    },
  );
  return `${head}\r\n`;
}

/**
 * Response headers the sidecar replaces or frames itself: Content-Length
 * (re-sent from the parsed framing), and the two it sets on every
 * response, Strict-Transport-Security and X-Request-ID.
 */
const RESPONSE_OWNED = new Set(['content-length', 'strict-transport-security', 'x-request-id']);

/**
 * The app's response headers (flat [name, value, ...], names in lower case
 * as the response parser gives them) as the client gets them: without
 * hop-by-hop headers, those named in `Connection`, and those in
 * RESPONSE_OWNED.
 */
export function clientResponseHeaders(lowerCased: readonly string[]): string[] {
  const named = connectionTokens(lowerCased);
  const out: string[] = [];
  for (let i = 0; i < lowerCased.length; i += 2) {
    const name = lowerCased[i] ?? '';
    if (HOP_BY_HOP.has(name) || RESPONSE_OWNED.has(name) || named?.has(name)) continue;
    out.push(name, lowerCased[i + 1] ?? '');
  }
  return out;
}

/** True for a header value safe to emit (visible ASCII and tab/space only). */
export function isSafeHeaderValue(value: string): boolean {
  return value.length <= 4096 && /^[\t\x20-\x7e]*$/.test(value);
}
