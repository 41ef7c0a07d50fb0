// The bytes of an answer the sidecar writes on a bare connection, for what
// never became a request of the pipeline (a head node:http could not
// parse, a head or request line that did not arrive in time, a target too
// long, CONNECT): the same shape as every other answer of the sidecar
// (pipeline/rescue.ts): JSON `{"error": CODE, "requestId": ID}`, HSTS,
// X-Request-ID, no caching, and the connection closed after it. Pure.
import { STATUS_CODES } from 'node:http';

export function errorBody(code: string, requestId: string): string {
  return JSON.stringify({ error: code, requestId });
}

/** The whole answer; `date` is the Date header value (an HTTP date). */
export function ownAnswer(
  status: number,
  code: string,
  requestId: string,
  hsts: string,
  date: string,
): string {
  const body = errorBody(code, requestId);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `strict-transport-security: ${hsts}\r\nx-request-id: ${requestId}\r\n` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `cache-control: no-store\r\ndate: ${date}\r\nconnection: close\r\n\r\n${body}`
  );
}
