// A thin client for the Kubernetes REST API on undici (keep-alive, one
// connection pool), authenticated from a Connection (kubeconfig or
// in-cluster) through Credentials that follow rotation: every request
// takes the credentials as they are now (a rotated token file, a renewed
// exec credential, reloaded client certificate files; the pool is rebuilt
// when the TLS material changes), and a request answered 401 reloads them
// once and is sent again. Owns: requests, server-side apply, status
// subresources, watch streams, typed errors (KubeError with Retry-After),
// and the write guard through which leader election stops a non-leader
// from writing. Why not client-node: see kube/README.md.
import { Agent, request, type Dispatcher } from 'undici';
import { AcpError } from '@acp/crds';
import type { Clock } from './clock.ts';
import { Credentials, type CredentialOptions, type Material, type TlsMaterial } from './credentials.ts';
import { KubeError, parseRetryAfter } from './errors.ts';
import type { ClusterTrust, Connection } from './kubeconfig.ts';

export interface ListResult<T> {
  items: T[];
  metadata: { resourceVersion: string; continue?: string };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  /** The Accept header (default application/json), e.g. METADATA_ONLY_LIST for metadata only. */
  accept?: string;
}

export interface KubeClientOptions {
  /** Mutations throw ACP_ERR_NOT_LEADER while this returns false. */
  canWrite?: () => boolean;
  /** Called for every request with its verb and outcome (metrics). */
  onRequest?: (verb: string, code: number) => void;
  userAgent?: string;
  /** Abort a request (not a watch) that has not completed after this long; default 30 s. */
  requestTimeoutMs?: number;
}

type Verb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Response = Awaited<ReturnType<typeof request>>;

/** The connection pool for the TLS material in use; shared by every client made withOptions. */
class Transport {
  private readonly cluster: ClusterTrust;
  readonly credentials: Credentials;
  private agent: { tls: TlsMaterial; dispatcher: Dispatcher } | undefined;

  constructor(cluster: ClusterTrust, credentials: Credentials) {
    this.cluster = cluster;
    this.credentials = credentials;
  }

  dispatcherFor(tls: TlsMaterial): Dispatcher {
    if (this.agent?.tls === tls) return this.agent.dispatcher;
    // New TLS material: new connections; requests (and watches) on the old pool finish there.
    void this.agent?.dispatcher.close().catch(() => undefined);
    const dispatcher = new Agent({
      connect: {
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        ...(this.cluster.tlsServerName ? { servername: this.cluster.tlsServerName } : {}),
        rejectUnauthorized: !this.cluster.skipTLSVerify,
      },
      keepAliveTimeout: 30_000,
      connections: 32,
      // HTTP/1.1: undici's HTTP/2 client surfaced the apiserver's GOAWAY as an uncaught socket error.
      allowH2: false,
    });
    this.agent = { tls, dispatcher };
    return dispatcher;
  }

  async close(): Promise<void> {
    await this.agent?.dispatcher.close();
    this.agent = undefined;
  }
}

export class KubeClient {
  readonly server: string;
  private readonly transport: Transport;
  private readonly opts: KubeClientOptions;

  private constructor(server: string, transport: Transport, opts: KubeClientOptions) {
    this.server = server.replace(/\/$/, '');
    this.transport = transport;
    this.opts = opts;
  }

  /** A client for `conn`; reads the credentials once now, so a bad kubeconfig fails at start. */
  static async connect(
    conn: Connection,
    opts: KubeClientOptions & { clock: Clock } & Omit<CredentialOptions, 'clock'>,
  ): Promise<KubeClient> {
    const credentials = new Credentials(conn, opts);
    await credentials.current();
    return new KubeClient(conn.cluster.server, new Transport(conn.cluster, credentials), opts);
  }

  withOptions(opts: KubeClientOptions): KubeClient {
    return new KubeClient(this.server, this.transport, { ...this.opts, ...opts });
  }

  /** Sends with the current credentials; on 401 reloads them once and sends again. */
  private async send(
    label: string,
    url: string,
    init: { method: Verb; headers: Record<string, string>; body?: string; signal: AbortSignal },
  ): Promise<Response> {
    const attempt = async (m: Material): Promise<Response> => {
      const headers: Record<string, string> = {
        'user-agent': this.opts.userAgent ?? 'acp',
        ...(m.authorization ? { authorization: m.authorization } : {}),
        ...(m.impersonate ? { 'impersonate-user': m.impersonate } : {}),
        ...init.headers,
      };
      const dispatcher = this.transport.dispatcherFor(m.tls);
      const go = (): Promise<Response> => request(url, { ...init, headers, dispatcher });
      try {
        return await go();
      } catch (e) {
        // A kept-alive connection the server closed before answering: send once more on a new one.
        // (Creates may then meet AlreadyExists, which every caller handles.)
        if ((e as { code?: string }).code !== 'UND_ERR_SOCKET') throw e;
        return go();
      }
    };
    const used = await this.transport.credentials.current();
    const res = await attempt(used);
    if (res.statusCode !== 401) return res;
    await res.body.dump();
    this.opts.onRequest?.(label, 401);
    return attempt(await this.transport.credentials.reload(used));
  }

  private url(path: string, query?: RequestOptions['query']): string {
    const q = Object.entries(query ?? {})
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    return `${this.server}${path}${q ? `?${q}` : ''}`;
  }

  private async call<T>(
    verb: Verb,
    path: string,
    body?: unknown,
    contentType?: string,
    opts: RequestOptions = {},
  ): Promise<T> {
    if (verb !== 'GET' && this.opts.canWrite && !this.opts.canWrite()) {
      throw new AcpError('ACP_ERR_NOT_LEADER', `refusing to ${verb} ${path}: this replica is not the leader`);
    }
    const timeout = AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000);
    const res = await this.send(verb, this.url(path, opts.query), {
      method: verb,
      headers: {
        accept: opts.accept ?? 'application/json',
        ...(body === undefined ? {} : { 'content-type': contentType ?? 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
    this.opts.onRequest?.(verb, res.statusCode);
    const text = await res.body.text();
    if (res.statusCode >= 400) throw this.error(res.statusCode, text, res.headers['retry-after']);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private error(status: number, text: string, retryAfter: string | string[] | undefined): KubeError {
    let reason = '';
    let message = text.slice(0, 500);
    try {
      const s = JSON.parse(text) as { reason?: string; message?: string };
      reason = s.reason ?? '';
      message = s.message ?? message;
    } catch {
      // not a Status object
    }
    const ra = Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null);
    return new KubeError(status, reason, message, parseRetryAfter(ra, Date.now()));
  }

  get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.call<T>('GET', path, undefined, undefined, opts);
  }

  /** GET that answers undefined for 404. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return undefined;
      throw e;
    }
  }

  list<T>(
    path: string,
    query: RequestOptions['query'] = {},
    opts: Pick<RequestOptions, 'accept'> = {},
  ): Promise<ListResult<T>> {
    return this.get<ListResult<T>>(path, { query, ...opts });
  }

  create<T>(path: string, body: unknown, query?: RequestOptions['query']): Promise<T> {
    return this.call<T>('POST', path, body, undefined, query ? { query } : {});
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }

  /** Server-side apply as `fieldManager` (force takes ownership of conflicting fields). */
  apply<T>(path: string, body: unknown, fieldManager: string, force = true): Promise<T> {
    return this.call<T>('PATCH', path, body, 'application/apply-patch+yaml', {
      query: { fieldManager, force },
    });
  }

  mergePatch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PATCH', path, body, 'application/merge-patch+json');
  }

  async delete(path: string, preconditions?: { resourceVersion?: string; uid?: string }): Promise<void> {
    const body = preconditions ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions } : undefined;
    await this.call('DELETE', path, body);
  }

  /**
   * Streams watch events from `resourceVersion` until the server closes the
   * stream or `signal` aborts. Throws KubeError (410 Gone included) on failure.
   */
  async watch<T>(
    path: string,
    resourceVersion: string,
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
    opts: Pick<RequestOptions, 'query' | 'accept'> = {},
  ): Promise<void> {
    const { query = {}, accept = 'application/json' } = opts;
    // The server ends a watch after timeoutSeconds; a stream silent for longer is dead (partition, frozen peer).
    const timeoutSeconds = Number(query['timeoutSeconds'] ?? 300);
    const idleMs = (timeoutSeconds + 30) * 1000;
    const idle = new AbortController();
    let idleTimer = setTimeout(() => idle.abort(new Error('watch stream idle')), idleMs);
    // However the watch ends (the server closes it, abort, an error), its idle timer goes with
    // it: a leaked one kept a stopped informer's process alive for the whole idle period.
    try {
      const res = await this.send(
        'WATCH',
        this.url(path, {
          ...query,
          watch: true,
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
        }),
        {
          method: 'GET',
          headers: { accept },
          signal: AbortSignal.any([signal, idle.signal]),
        },
      );
      this.opts.onRequest?.('WATCH', res.statusCode);
      if (res.statusCode >= 400)
        throw this.error(res.statusCode, await res.body.text(), res.headers['retry-after']);
      let buffered = '';
      for await (const chunk of res.body) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => idle.abort(new Error('watch stream idle')), idleMs);
        buffered += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          const event = JSON.parse(line) as WatchEvent<T>;
          if (event.type === 'ERROR') {
            const status = event.object as unknown as { code?: number; reason?: string; message?: string };
            throw new KubeError(status.code ?? 500, status.reason ?? '', status.message ?? 'watch error');
          }
          onEvent(event);
        }
      }
    } finally {
      clearTimeout(idleTimer);
    }
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
