// Test-only: an HTTP/2 client session to the running sidecar (node:http2,
// mTLS with the test PKI's client identity, authority `payments`), one
// request with its answer or stream reset, and the audit record of an
// answer.
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { waitFor, type RunningSidecar } from './sidecar-support.ts';

export function h2Session(s: RunningSidecar): ClientHttp2Session {
  const c = h2connect(`https://127.0.0.1:${s.ports.inbound}`, {
    servername: 'payments',
    ca: s.pki.ca.cert,
    cert: s.pki.client.cert,
    key: s.pki.client.key,
  });
  c.on('error', () => undefined);
  return c;
}

export interface H2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The stream ended with RST_STREAM (its code), not a response. */
  rst: number | undefined;
}

export function h2Request(
  c: ClientHttp2Session,
  fields: Record<string, string>,
  body?: Buffer | string,
): Promise<H2Answer> {
  return new Promise((done) => {
    const r = c.request({ ':authority': 'payments', ...fields }, { endStream: body === undefined });
    let h: IncomingHttpHeaders = {};
    let b = '';
    r.on('response', (x) => (h = x));
    r.on('data', (d: Buffer) => (b += d.toString()));
    r.on('error', () => undefined);
    r.on('close', () =>
      done({
        status: Number(h[':status'] ?? 0),
        headers: h,
        body: b,
        rst: h[':status'] ? undefined : r.rstCode,
      }),
    );
    if (body !== undefined) r.end(body);
  });
}

/** The audit record of the answer with this request id (waits for it). */
export function auditOf(s: RunningSidecar, requestId: string): Promise<Record<string, unknown>> {
  return waitFor('the audit record', () => s.auditRecords().find((a) => a['requestId'] === requestId));
}
