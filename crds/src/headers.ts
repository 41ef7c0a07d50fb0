// Request headers the sidecar sets itself from the connection (client
// address, request id, the peer's verified SPIFFE ID) after removing any
// client-supplied value: part of the operator -> sidecar contract. A JWT
// claim may not be forwarded in one of them (spec.jwt.providers[].
// forwardClaims), or the app could not tell which value it got. Pure.

/** Exact names (lower case). */
export const SIDECAR_SET_HEADERS: readonly string[] = ['x-request-id', 'x-real-ip', 'x-acp-peer-id'];

/** Prefixes (lower case): every x-forwarded-* header. */
export const SIDECAR_SET_HEADER_PREFIXES: readonly string[] = ['x-forwarded-'];

/** Whether the sidecar sets this header itself (case-insensitive). */
export function isSidecarSetHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SIDECAR_SET_HEADERS.includes(lower) || SIDECAR_SET_HEADER_PREFIXES.some((p) => lower.startsWith(p));
}
