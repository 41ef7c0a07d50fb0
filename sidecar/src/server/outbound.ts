// The outbound proxy on 127.0.0.1:15001: the app's HTTP proxy
// (HTTP_PROXY=http://127.0.0.1:15001, absolute-form requests). A
// destination must be in egress.allow (or egress.default Allow). When the
// allow entry lists peers, the sidecar originates mTLS with its own
// workload certificate, verifies the server against the trust bundle AND
// checks that the server's single URI SAN is one of the peers; an entry
// without peers is reached over plain HTTP (the app's own TLS goes through
// CONNECT tunnels, which only such entries allow). Denied: 403
// ACP_ERR_EGRESS_DENIED; wrong server identity: 502
// ACP_ERR_EGRESS_PEER_MISMATCH. First version: HTTP/1.1, no retries.
// undici is loaded on the first proxied request, so a sidecar whose app
// never calls out does not carry it (~25 MB of RSS).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import type { Dispatcher, Pool } from 'undici';
import { AcpError, type SidecarConfig } from '@acp/crds/sidecar';
import { statusForCode } from '../codes.ts';
import type { AuditLog } from '../pipeline/audit.ts';
import { upstreamRequestHeaders } from '../http/headers.ts';
import type { Credentials } from '../tls/credentials.ts';
import { parseSubjectAltName } from '../tls/peer-identity.ts';

type EgressRule = SidecarConfig['egress']['allow'][number];

export interface OutboundDeps {
  config: () => SidecarConfig;
  credentials: () => Credentials;
  audit: AuditLog;
}

/** The allow entry for host:port, a default-allow pseudo entry, or null (denied). */
export function egressDecision(
  egress: SidecarConfig['egress'],
  host: string,
  port: number,
): EgressRule | null {
  const h = host.toLowerCase();
  const rule = egress.allow.find((r) => r.host.toLowerCase() === h && r.port === port);
  if (rule) return rule;
  return egress.default === 'Allow' ? { host: h, port, peers: [] } : null;
}

/** checkServerIdentity for mesh peers: the server's single URI SAN must be an expected SPIFFE ID. */
export function checkPeerServer(peers: readonly string[]) {
  return (_host: string, cert: PeerCertificate): Error | undefined => {
    const uris = parseSubjectAltName(cert.subjectaltname).filter((s) => s.type === 'URI');
    const id = uris.length === 1 ? uris[0]?.value : undefined;
    if (id !== undefined && peers.includes(id)) return undefined;
    return new AcpError(
      'ACP_ERR_EGRESS_PEER_MISMATCH',
      `server identity ${id ?? '(none)'} is not an expected peer`,
    );
  };
}

function respond(res: ServerResponse, code: string, message: string): void {
  const body = JSON.stringify({ error: code, message });
  res.writeHead(statusForCode(code), {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function createOutbound(deps: OutboundDeps): { server: Server; close(): Promise<void> } {
  const pools = new Map<string, Pool>();
  let undici: Promise<{ Pool: typeof Pool }> | null = null;
  const poolFor = async (rule: EgressRule): Promise<Dispatcher> => {
    const { Pool } = await (undici ??= import('undici'));
    const creds = deps.credentials();
    const tls = rule.peers.length > 0;
    const key = `${tls ? 'https' : 'http'}://${rule.host}:${rule.port}|${tls ? creds.fingerprint : ''}|${rule.peers.join(',')}`;
    let pool = pools.get(key);
    if (!pool) {
      const origin = `${tls ? 'https' : 'http'}://${rule.host}:${rule.port}`;
      pool = new Pool(origin, {
        connections: 32,
        connect: tls
          ? {
              ca: creds.files.ca,
              cert: creds.files.cert,
              key: creds.files.key,
              minVersion: 'TLSv1.2',
              checkServerIdentity: checkPeerServer(rule.peers),
            }
          : {},
      });
      pools.set(key, pool);
    }
    return pool;
  };

  const record = (req: IncomingMessage, target: string, status: number, reason: string): void => {
    if (deps.config().audit.enabled) {
      deps.audit.record({ direction: 'outbound', method: req.method, target, status, reason });
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
      if (url.protocol !== 'http:') throw new Error('scheme');
    } catch {
      respond(res, 'ACP_ERR_BAD_REQUEST', 'absolute-form http:// request target required');
      return;
    }
    const port = url.port ? Number(url.port) : 80;
    const target = `${url.hostname}:${port}`;
    const rule = egressDecision(deps.config().egress, url.hostname, port);
    if (!rule) {
      record(req, target, 403, 'ACP_ERR_EGRESS_DENIED');
      respond(res, 'ACP_ERR_EGRESS_DENIED', `egress to ${target} is not allowed`);
      return;
    }
    const headers = upstreamRequestHeaders(req.rawHeaders, {
      requestId:
        typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : crypto.randomUUID(),
      clientAddress: '127.0.0.1',
      peerId: undefined,
      selfId: undefined,
      claimHeaders: undefined,
      contentLength:
        req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : undefined,
    });
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    poolFor(rule)
      .then((pool) =>
        pool.request({
          path: `${url.pathname}${url.search}`,
          method: req.method ?? 'GET',
          headers,
          body: hasBody ? req : null,
        }),
      )
      .then(
        (up) => {
          res.writeHead(up.statusCode, up.headers as Record<string, string | string[]>);
          up.body.pipe(res);
          up.body.once('error', () => res.destroy());
          record(req, target, up.statusCode, 'ACP_OK');
        },
        (e: unknown) => {
          const err = e as Error & { cause?: unknown; code?: string };
          const mismatch = err instanceof AcpError ? err : err.cause instanceof AcpError ? err.cause : null;
          const code = mismatch ? mismatch.code : 'ACP_ERR_UPSTREAM_UNAVAILABLE';
          record(req, target, statusForCode(code), code);
          respond(res, code, mismatch ? mismatch.message : `cannot reach ${target}`);
        },
      );
  };

  const server = createServer(onRequest);
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const [host = '', portText = ''] = (req.url ?? '').split(':');
    const port = Number(portText);
    const rule = egressDecision(deps.config().egress, host, port);
    if (!rule || rule.peers.length > 0) {
      record(req, req.url ?? '', 403, 'ACP_ERR_EGRESS_DENIED');
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    const upstream = netConnect(port, host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
      record(req, req.url ?? '', 200, 'ACP_OK');
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  return {
    server,
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
    },
  };
}
