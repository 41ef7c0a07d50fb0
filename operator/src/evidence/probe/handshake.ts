// One TLS handshake against a sidecar's inbound port, classified: the
// server accepted it (and, when asked, answered one HTTP request), the
// server refused it (a TLS alert: only an alert proves a refusal), or the
// probe could not tell (no TCP connection, a timeout, a close or reset
// without an alert, as a connection limit would give): the last is a probe
// failure, never evidence either way, so a forbidden version or suite is
// never counted refused on a guess. Thin I/O over node:tls; the
// classification of a close is pure (classifyClose).
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';

export interface HandshakeTarget {
  host: string;
  port: number;
  /** SNI sent (the sidecar does not route on it). */
  servername?: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
}

export type HandshakeOutcome =
  | {
      kind: 'accepted';
      version: string;
      cipher: string;
      authorized: boolean;
      certificate: X509Certificate | undefined;
      /** The answer to the request sent, when one was sent and answered. */
      answer?: Answer;
    }
  | { kind: 'refused'; reason: string }
  | {
      kind: 'failed';
      code:
        | 'ACP_ERR_PROBE_UNREACHABLE'
        | 'ACP_ERR_PROBE_TIMEOUT'
        | 'ACP_ERR_PROBE_CLIENT'
        | 'ACP_ERR_PROBE_INCONCLUSIVE';
      message: string;
    };

/** A connection that ended before an accepted outcome: refused only on a TLS alert. */
export function classifyClose(
  tcpUp: boolean,
  error: { code?: string; message: string } | undefined,
): HandshakeOutcome {
  if (!tcpUp)
    return { kind: 'failed', code: 'ACP_ERR_PROBE_UNREACHABLE', message: error?.message ?? 'closed' };
  const code = error?.code ?? '';
  if (/^ERR_SSL_.*ALERT/.test(code)) return { kind: 'refused', reason: code };
  return {
    kind: 'failed',
    code: 'ACP_ERR_PROBE_INCONCLUSIVE',
    message: `closed without a TLS alert (${code || error?.message || 'no error'})`,
  };
}

/** Parses the status line and headers of an HTTP/1.1 answer (undefined until the head is complete). */
export function parseAnswer(raw: string): Answer | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [line = '', ...rest] = raw.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(line);
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const h of rest) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  return { status: Number(m[1]), headers };
}

export interface HandshakeOptions {
  tls: ConnectionOptions;
  /** Sent once the handshake completes; the outcome then waits for the answer head. */
  request?: string;
  timeoutMs: number;
}

export function handshake(target: HandshakeTarget, o: HandshakeOptions): Promise<HandshakeOutcome> {
  // A throw from tls.connect comes before any byte was sent: the prober could not offer what it
  // meant to (not the server's answer).
  return attempt(target, o).catch((e: unknown) => ({
    kind: 'failed' as const,
    code: 'ACP_ERR_PROBE_CLIENT' as const,
    message: String(e),
  }));
}

function attempt(target: HandshakeTarget, o: HandshakeOptions): Promise<HandshakeOutcome> {
  return new Promise((done) => {
    let tcpUp = false;
    let secured: Extract<HandshakeOutcome, { kind: 'accepted' }> | undefined;
    let raw = '';
    let settled = false;
    const finish = (r: HandshakeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      done(r);
    };
    const sock: TLSSocket = connect({
      host: target.host,
      port: target.port,
      servername: target.servername ?? 'acp-probe',
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      ...o.tls,
    });
    const timer = setTimeout(
      () =>
        finish({
          kind: 'failed',
          code: 'ACP_ERR_PROBE_TIMEOUT',
          message: `no answer within ${o.timeoutMs}ms`,
        }),
      o.timeoutMs,
    );
    sock.once('connect', () => (tcpUp = true));
    sock.once('secureConnect', () => {
      secured = {
        kind: 'accepted',
        version: sock.getProtocol() ?? '',
        cipher: sock.getCipher().name,
        authorized: sock.authorized,
        certificate: sock.getPeerX509Certificate(),
      };
      if (!o.request) return finish(secured);
      sock.write(o.request);
    });
    sock.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
      const answer = parseAnswer(raw);
      if (answer && secured) finish({ ...secured, answer });
    });
    const closed = (e?: Error): void => finish(classifyClose(tcpUp, e));
    sock.on('error', (e: Error) => closed(e));
    sock.on('close', () => closed());
  });
}
