// One pass over a request's raw headers (Node's flat rawHeaders list) for
// what the layers read: X-Request-ID, Authorization, Content-Length,
// Transfer-Encoding, whether Host is present, and the configured audit
// headers. Replaces `req.headers`, whose lazy construction walked the same
// list again per request. Duplicates follow Node's rules for req.headers:
// the first value of a field Node keeps once (Authorization,
// Content-Length, Host, User-Agent, ...), values joined with ", " for the
// others. A repeated X-Request-ID is not well-formed (its joined value
// would not match either), so the caller replaces it. Pure.

export interface RequestHeaders {
  /** The X-Request-ID value when it appears exactly once. */
  readonly requestId: string | undefined;
  readonly authorization: string | undefined;
  readonly contentLength: string | undefined;
  readonly transferEncoding: string | undefined;
  readonly hasHost: boolean;
  /** [name, value] of the audit headers present (undefined when none are configured). */
  readonly audit: [string, string][] | undefined;
}

/** Fields of which Node's req.headers keeps the first value only (lib/_http_incoming.js). */
const FIRST_WINS = new Set([
  'content-type',
  'content-length',
  'user-agent',
  'referer',
  'host',
  'authorization',
  'proxy-authorization',
  'if-modified-since',
  'if-unmodified-since',
  'from',
  'location',
  'max-forwards',
  'retry-after',
  'etag',
  'last-modified',
  'server',
  'age',
  'expires',
]);

function addAudit(out: [string, string][], name: string, value: string): void {
  const prev = out.find((p) => p[0] === name);
  if (!prev) out.push([name, value]);
  else if (!FIRST_WINS.has(name)) prev[1] += `, ${value}`;
}

export function scanRequestHeaders(raw: readonly string[], auditNames: ReadonlySet<string>): RequestHeaders {
  let requestId: string | undefined;
  let requestIds = 0;
  let authorization: string | undefined;
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let hasHost = false;
  const audit: [string, string][] | undefined = auditNames.size > 0 ? [] : undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    if (name === 'x-request-id') {
      requestIds++;
      requestId = value;
    } else if (name === 'authorization') authorization ??= value;
    else if (name === 'content-length') contentLength ??= value;
    else if (name === 'transfer-encoding')
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
    else if (name === 'host') hasHost = true;
    if (audit && auditNames.has(name)) addAudit(audit, name, value);
  }
  return {
    requestId: requestIds === 1 ? requestId : undefined,
    authorization,
    contentLength,
    transferEncoding,
    hasHost,
    audit,
  };
}
