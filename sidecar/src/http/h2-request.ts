// How an HTTP/2 request head reads as the request the layers know (they
// were written for HTTP/1.1): the pseudo-headers become method and target,
// `:authority` becomes the one Host field, split Cookie fields are joined
// with "; " (RFC 9113 8.2.3), and every rule that HTTP/2 adds is checked.
// nghttp2 (node:http2) already resets a stream whose head breaks the
// framing rules (upper-case names, connection-specific fields, `te` other
// than "trailers", pseudo-headers after regular ones or unknown, a
// Content-Length that the DATA frames contradict); what it lets through
// and the sidecar still refuses is decided here: a `:scheme` other than
// https, `:authority` and `host` that disagree, CONNECT, and a
// `grpc-timeout` that is not one (RFC 9113 8.3, gRPC over HTTP/2). Pure.

export interface H2Head {
  readonly method: string;
  /** `:path`: the request target in origin form. */
  readonly url: string;
  /** The regular fields, Host first (from `:authority` when no Host came), cookies joined. */
  readonly rawHeaders: string[];
  /** content-type starts with application/grpc. */
  readonly grpc: boolean;
  /** The grpc-timeout in ms, when one came. */
  readonly grpcTimeoutMs: number | undefined;
  /** The reason code of the first HTTP/2 rule the head breaks, or undefined. */
  readonly error: string | undefined;
}

const TIMEOUT_UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/** A grpc-timeout value (1-8 digits and a unit H M S m u n) in ms (at least 1), or undefined when malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^([0-9]{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  return Math.max(1, Math.ceil(Number(m[1]) * (TIMEOUT_UNIT_MS[m[2] ?? ''] ?? 0)));
}

interface Fields {
  method: string;
  path: string;
  scheme: string | undefined;
  authority: string | undefined;
  host: string | undefined;
  cookie: string | undefined;
  grpc: boolean;
  grpcTimeout: string | undefined;
  rest: string[];
}

/** Sorts one field of the head into `f`. */
function take(f: Fields, name: string, value: string): void {
  switch (name) {
    case ':method':
      f.method = value;
      return;
    case ':path':
      f.path = value;
      return;
    case ':scheme':
      f.scheme = value;
      return;
    case ':authority':
      f.authority = value;
      return;
    case 'cookie':
      f.cookie = f.cookie === undefined ? value : `${f.cookie}; ${value}`;
      return;
    case 'host':
      // Two Host fields become a list, which the ambiguity check refuses.
      f.host = f.host === undefined ? value : `${f.host}, ${value}`;
      return;
    default:
      if (name.charCodeAt(0) === 58) return; // nghttp2 refuses any other pseudo-header
      if (name === 'content-type' && value.startsWith('application/grpc')) f.grpc = true;
      if (name === 'grpc-timeout') f.grpcTimeout = value;
      f.rest.push(name, value);
  }
}

function headError(f: Fields, badTimeout: boolean): string | undefined {
  if (f.method === 'CONNECT') return 'ACP_ERR_METHOD_NOT_ALLOWED';
  if (f.scheme !== 'https') return 'ACP_ERR_BAD_REQUEST';
  if (f.authority !== undefined && f.host !== undefined && f.authority !== f.host)
    return 'ACP_ERR_HOST_INVALID';
  if (badTimeout) return 'ACP_ERR_BAD_REQUEST';
  return undefined;
}

/** Reads node:http2's flat raw header list (pseudo-headers first, names lower case). */
export function readH2Head(raw: readonly string[]): H2Head {
  const f: Fields = {
    method: '',
    path: '',
    scheme: undefined,
    authority: undefined,
    host: undefined,
    cookie: undefined,
    grpc: false,
    grpcTimeout: undefined,
    rest: [],
  };
  for (let i = 0; i < raw.length; i += 2) take(f, raw[i] ?? '', raw[i + 1] ?? '');
  const hostValue = f.authority ?? f.host;
  const rawHeaders = hostValue === undefined ? f.rest : ['host', hostValue, ...f.rest];
  if (f.cookie !== undefined) rawHeaders.push('cookie', f.cookie);
  const grpcTimeoutMs = f.grpcTimeout === undefined ? undefined : parseGrpcTimeout(f.grpcTimeout);
  const error = headError(f, f.grpcTimeout !== undefined && grpcTimeoutMs === undefined);
  return { method: f.method, url: f.path, rawHeaders, grpc: f.grpc, grpcTimeoutMs, error };
}
