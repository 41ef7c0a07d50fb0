// The gRPC status a refusal of the sidecar carries when the request was a
// gRPC call (content-type application/grpc*): a gRPC client reads the
// grpc-status of a trailers-only response, not the HTTP status, so each
// HTTP status the rescue would answer maps to the gRPC code that names the
// same failure (16 UNAUTHENTICATED for 401, 7 PERMISSION_DENIED for 403,
// 8 RESOURCE_EXHAUSTED for 429 and the size limits, 3 INVALID_ARGUMENT for
// a malformed request, 14 UNAVAILABLE for 502/503, 4 DEADLINE_EXCEEDED for
// 504 and 408). Pure.

const BY_STATUS: Record<number, number> = {
  400: 3,
  401: 16,
  403: 7,
  404: 12,
  405: 12,
  408: 4,
  413: 8,
  414: 8,
  417: 3,
  429: 8,
  431: 8,
  500: 13,
  501: 12,
  502: 14,
  503: 14,
  504: 4,
  505: 3,
};

/** The grpc-status for an HTTP status of the sidecar's own answers (2 UNKNOWN for any other). */
export function grpcStatusFor(httpStatus: number): number {
  return BY_STATUS[httpStatus] ?? 2;
}

/** A grpc-message value: percent-encoded outside printable ASCII (and '%'), as the gRPC spec asks. */
export function grpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
