// One pass over a request's raw headers (Node's flat rawHeaders list) for
// what the layers read: X-Request-ID, Authorization, Content-Length,
// Transfer-Encoding, Content-Type, Host, Connection, names spelled with "_", and the
// configured audit headers (how many Host and Authorization fields came is
// counted for the ambiguity check, http/ambiguity.ts). Replaces `req.headers`, whose lazy construction walked the same
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
  /** The first Content-Type value. */
  readonly contentType: string | undefined;
  readonly hasHost: boolean;
  /** The first Host value, and how many Host fields came. */
  readonly host: string | undefined;
  readonly hosts: number;
  /** Every Authorization value, in order (undefined when none came). */
  readonly authorizations: readonly string[] | undefined;
  /** The Connection values joined with ", " (undefined when none came). */
  readonly connection: string | undefined;
  /** The header names (lower case) that contain "_" (undefined when none do). */
  readonly underscored: readonly string[] | undefined;
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

/** What one pass collects, before it becomes the RequestHeaders record. */
interface Scan {
  requestId: string | undefined;
  requestIds: number;
  contentLength: string | undefined;
  transferEncoding: string | undefined;
  contentType: string | undefined;
  host: string | undefined;
  hosts: number;
  authorizations: string[] | undefined;
  connection: string | undefined;
  underscored: string[] | undefined;
}

const joined = (prev: string | undefined, value: string): string =>
  prev === undefined ? value : `${prev}, ${value}`;

function take(s: Scan, name: string, value: string): void {
  switch (name) {
    case 'x-request-id':
      s.requestIds++;
      s.requestId = value;
      return;
    case 'authorization':
      (s.authorizations ??= []).push(value);
      return;
    case 'content-length':
      s.contentLength ??= value;
      return;
    case 'transfer-encoding':
      s.transferEncoding = joined(s.transferEncoding, value);
      return;
    case 'content-type':
      s.contentType ??= value;
      return;
    case 'host':
      s.host ??= value;
      s.hosts++;
      return;
    case 'connection':
      s.connection = joined(s.connection, value);
      return;
    default:
      if (name.includes('_')) (s.underscored ??= []).push(name);
  }
}

export function scanRequestHeaders(raw: readonly string[], auditNames: ReadonlySet<string>): RequestHeaders {
  const s: Scan = {
    requestId: undefined,
    requestIds: 0,
    contentLength: undefined,
    transferEncoding: undefined,
    contentType: undefined,
    host: undefined,
    hosts: 0,
    authorizations: undefined,
    connection: undefined,
    underscored: undefined,
  };
  const audit: [string, string][] | undefined = auditNames.size > 0 ? [] : undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    take(s, name, value);
    if (audit && auditNames.has(name)) addAudit(audit, name, value);
  }
  return {
    requestId: s.requestIds === 1 ? s.requestId : undefined,
    authorization: s.authorizations?.[0],
    contentLength: s.contentLength,
    transferEncoding: s.transferEncoding,
    contentType: s.contentType,
    hasHost: s.hosts > 0,
    host: s.host,
    hosts: s.hosts,
    authorizations: s.authorizations,
    connection: s.connection,
    underscored: s.underscored,
    audit,
  };
}
