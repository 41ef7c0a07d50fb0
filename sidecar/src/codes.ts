// The sidecar's stable reason codes (ACP_ERR_*) and the one table that maps
// each to an HTTP status. Codes appear in responses, audit records and
// metric labels alike; the table is the only place that says which status a
// denial gets. Pure.

export const CODE_STATUS = {
  ACP_ERR_BAD_REQUEST: 400,
  ACP_ERR_PATH_NOT_CANONICAL: 400,
  ACP_ERR_HOST_INVALID: 400,
  ACP_ERR_HOP_BY_HOP_PROTECTED: 400,
  ACP_ERR_HEADER_NAME_AMBIGUOUS: 400,
  ACP_ERR_CREDENTIALS_AMBIGUOUS: 400,
  ACP_ERR_TOKEN_IN_QUERY: 400,
  ACP_ERR_TOKEN_IN_BODY: 400,
  ACP_ERR_MESH_TUNNEL_NOT_H2: 400,
  ACP_ERR_JWT_MISSING: 401,
  ACP_ERR_JWT_MALFORMED: 401,
  ACP_ERR_JWT_EXPIRED: 401,
  ACP_ERR_JWT_NOT_YET_VALID: 401,
  ACP_ERR_JWT_TOO_OLD: 401,
  ACP_ERR_JWT_ISSUER: 401,
  ACP_ERR_JWT_AUDIENCE: 401,
  ACP_ERR_JWT_ALGORITHM: 401,
  ACP_ERR_JWT_SIGNATURE: 401,
  ACP_ERR_JWT_UNKNOWN_KID: 401,
  ACP_ERR_JWT_CLAIM_MISSING: 401,
  ACP_ERR_JWT_PROVIDER: 401,
  ACP_ERR_JWT_NOT_CANONICAL: 401,
  ACP_ERR_JWT_HEADER_PARAM: 401,
  ACP_ERR_JWT_SCOPE: 403,
  ACP_ERR_PEER_NOT_ALLOWED: 403,
  ACP_ERR_PEER_IS_PROBE: 403,
  ACP_ERR_EGRESS_DENIED: 403,
  ACP_ERR_METHOD_NOT_ALLOWED: 405,
  ACP_ERR_REQUEST_TIMEOUT: 408,
  ACP_ERR_BODY_TOO_LARGE: 413,
  ACP_ERR_URL_TOO_LONG: 414,
  ACP_ERR_EXPECTATION_FAILED: 417,
  ACP_ERR_RATE_LIMITED: 429,
  ACP_ERR_HEADERS_TOO_LARGE: 431,
  ACP_ERR_INTERNAL: 500,
  ACP_ERR_TRANSFER_CODING: 501,
  ACP_ERR_UPSTREAM_UNAVAILABLE: 502,
  ACP_ERR_UPSTREAM_PROTOCOL: 502,
  ACP_ERR_EGRESS_PEER_MISMATCH: 502,
  ACP_ERR_EGRESS_TLS: 502,
  ACP_ERR_SHUTTING_DOWN: 503,
  ACP_ERR_MESH_UNAVAILABLE: 503,
  ACP_ERR_UPSTREAM_TIMEOUT: 504,
  ACP_ERR_HTTP_VERSION: 505,
} as const satisfies Record<string, number>;

export type DenyCode = keyof typeof CODE_STATUS;

/** Status for a code; anything not in the table is an unexpected error (500). */
export function statusForCode(code: string): number {
  return (CODE_STATUS as Record<string, number | undefined>)[code] ?? 500;
}

/**
 * Codes that never reach the HTTP pipeline: a connection refused during or
 * right after the TLS handshake (metric label `reason` of
 * acp_sidecar_tls_handshake_failures_total, and the audit record's reason).
 */
export const TLS_CODES = [
  'ACP_ERR_TLS_PROTOCOL_VERSION',
  'ACP_ERR_TLS_NO_SHARED_CIPHER',
  'ACP_ERR_TLS_NO_CLIENT_CERT',
  'ACP_ERR_TLS_BAD_CLIENT_CERT',
  'ACP_ERR_TLS_HANDSHAKE',
  'ACP_ERR_TLS_HANDSHAKE_TIMEOUT',
  // The client certificate failed verification (tls/handshake-errors.ts maps OpenSSL's verify errors).
  'ACP_ERR_PEER_CERT_EXPIRED',
  'ACP_ERR_PEER_CERT_NOT_YET_VALID',
  'ACP_ERR_PEER_CERT_UNKNOWN_ISSUER',
  'ACP_ERR_PEER_CERT_SELF_SIGNED',
  'ACP_ERR_PEER_CERT_BAD_SIGNATURE',
  'ACP_ERR_PEER_CERT_KEY_USAGE',
  'ACP_ERR_PEER_CERT_BAD_CHAIN',
  'ACP_ERR_PEER_CERT_MALFORMED',
  // The certificate passed verification but is not a workload identity (tls/peer-identity.ts).
  'ACP_ERR_PEER_CERT_NO_URI_SAN',
  'ACP_ERR_PEER_CERT_MULTIPLE_URI_SANS',
  'ACP_ERR_PEER_CERT_SPIFFE_IN_DNS_SAN',
  'ACP_ERR_PEER_CERT_NOT_SPIFFE',
  'ACP_ERR_PEER_CERT_TRUST_DOMAIN',
  'ACP_ERR_PEER_CERT_IS_CA',
  'ACP_ERR_PEER_CERT_NO_CLIENT_AUTH',
] as const;
export type TlsCode = (typeof TLS_CODES)[number];

/**
 * Connections refused at accept, before any TLS byte is read (metric label
 * `reason` of acp_sidecar_connections_refused_total): the listener holds
 * limits.maxConnections already, or the client address has
 * limits.maxPendingHandshakesPerAddress handshakes in progress.
 */
/**
 * HTTP/2 sessions and streams cut by a defence (metric label `reason` of
 * acp_sidecar_http2_defences_total, and the audit record's reason):
 * floods of frames that cost work (PING, SETTINGS, streams reset at once),
 * what nghttp2 itself refused as a flood (ENHANCE_YOUR_CALM: CONTINUATION,
 * empty DATA, PRIORITY, invalid frames) or as a protocol error, and a
 * stream that made no progress for the request timeout.
 */
export const H2_CODES = [
  'ACP_ERR_H2_PING_FLOOD',
  'ACP_ERR_H2_SETTINGS_FLOOD',
  'ACP_ERR_H2_RAPID_RESET',
  'ACP_ERR_H2_STREAM_FLOOD',
  'ACP_ERR_H2_CONTINUATION_FLOOD',
  'ACP_ERR_H2_INVALID_FRAME_FLOOD',
  'ACP_ERR_H2_FLOOD',
  'ACP_ERR_H2_PROTOCOL',
  'ACP_ERR_H2_STALLED',
] as const;
export type H2Code = (typeof H2_CODES)[number];

export const CONNECTION_CODES = ['ACP_ERR_CONNECTION_LIMIT', 'ACP_ERR_HANDSHAKE_LIMIT'] as const;
export type ConnectionCode = (typeof CONNECTION_CODES)[number];
