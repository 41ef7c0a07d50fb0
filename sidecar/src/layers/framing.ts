// Layer: the request's HTTP framing, checked before anything else reads it
// and never relaxed by Audit mode (protocol safety): an HTTP version other
// than 1.x (505), an HTTP/1.1 request without Host (400; node:http's own
// bare 400 for it is off, so the answer is the sidecar's), a request target
// over limits.maxUrlBytes (414), HTTP/2 only from the HTTP/2 adapter, header fields over limits.maxHeaderBytes
// (431; node:http's parser limit is maxHeaderBytes + maxUrlBytes so that a
// long target reaches this layer as a 414 instead of a parser 431), and a
// Transfer-Encoding other than exactly `chunked` (501: a coding the
// sidecar would otherwise drop silently while de-chunking the body).
// A protocol error the server found before the pipeline (an unsupported
// Expect) arrives as `ctx.protocolError`. The checks are pure
// (`framingError`).
import { AcpError } from '@acp/crds/sidecar';
import type { SidecarConfig } from '@acp/crds/sidecar';
import type { Layer } from '../pipeline/types.ts';

export interface FramingFacts {
  /** The request came over HTTP/2 (its adapter checked the HTTP/2 rules, server/h2-inbound.ts). */
  readonly h2: boolean;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly hasHost: boolean;
  readonly transferEncoding: string | undefined;
}

/** The reason code of the first framing problem, or undefined. */
export function framingError(
  f: FramingFacts,
  limits: Pick<SidecarConfig['limits'], 'maxUrlBytes' | 'maxHeaderBytes'>,
): string | undefined {
  if (f.httpVersionMajor !== (f.h2 ? 2 : 1)) return 'ACP_ERR_HTTP_VERSION';
  if (f.url.length > limits.maxUrlBytes) return 'ACP_ERR_URL_TOO_LONG';
  let headerBytes = 0;
  for (const field of f.rawHeaders) headerBytes += field.length;
  if (headerBytes > limits.maxHeaderBytes) return 'ACP_ERR_HEADERS_TOO_LARGE';
  if ((f.h2 || f.httpVersionMinor >= 1) && !f.hasHost) return 'ACP_ERR_BAD_REQUEST';
  if (f.transferEncoding !== undefined && f.transferEncoding.toLowerCase() !== 'chunked') {
    return 'ACP_ERR_TRANSFER_CODING';
  }
  return undefined;
}

const MESSAGES: Record<string, string> = {
  ACP_ERR_HTTP_VERSION: 'only HTTP/1.x is served',
  ACP_ERR_URL_TOO_LONG: 'request target longer than maxUrlBytes',
  ACP_ERR_HEADERS_TOO_LARGE: 'request headers larger than maxHeaderBytes',
  ACP_ERR_BAD_REQUEST: 'request without Host (HTTP/2: without :authority), or an HTTP/2 rule broken',
  ACP_ERR_TRANSFER_CODING: 'Transfer-Encoding other than chunked',
  ACP_ERR_EXPECTATION_FAILED: 'unsupported Expect',
  ACP_ERR_HOST_INVALID: ':authority and host differ',
  ACP_ERR_METHOD_NOT_ALLOWED: 'CONNECT is not served',
};

export const framingLayer: Layer = (next) => (ctx) => {
  const req = ctx.req;
  const code =
    ctx.protocolError ??
    framingError(
      {
        h2: ctx.h2 !== undefined,
        httpVersionMajor: req.httpVersionMajor,
        httpVersionMinor: req.httpVersionMinor,
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        hasHost: ctx.headers.hasHost,
        transferEncoding: ctx.headers.transferEncoding,
      },
      ctx.policy.config.limits,
    );
  if (code !== undefined) throw new AcpError(code, MESSAGES[code] ?? code);
  return next(ctx);
};
