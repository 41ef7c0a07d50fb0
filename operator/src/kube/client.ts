// A thin client for the Kubernetes REST API on undici (keep-alive, one
// connection pool), authenticated from a KubeConfig (file or in-cluster).
// Owns: requests, server-side apply, status subresources, watch streams,
// typed errors (KubeError with Retry-After), and the write guard through
// which leader election stops a non-leader from writing.
// Why not client-node's generated APIs and informers: see kube/README.md.
import { Agent, request, type Dispatcher } from 'undici';
import type { KubeConfig } from '@kubernetes/client-node';
import { AcpError } from '@acp/crds';
import { KubeError, parseRetryAfter } from './errors.ts';

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

const WATCH_IDLE_MS = 330_000;

export class KubeClient {
  readonly server: string;
  private readonly dispatcher: Dispatcher;
  private readonly headers: Record<string, string>;
  private readonly opts: KubeClientOptions;

  private constructor(
    server: string,
    dispatcher: Dispatcher,
    headers: Record<string, string>,
    opts: KubeClientOptions,
  ) {
    this.server = server.replace(/\/$/, '');
    this.dispatcher = dispatcher;
    this.headers = headers;
    this.opts = opts;
  }

  static async fromKubeConfig(kc: KubeConfig, opts: KubeClientOptions = {}): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new AcpError('ACP_ERR_KUBECONFIG', 'the kubeconfig has no current cluster');
    const https: {
      ca?: Buffer | string;
      cert?: Buffer | string;
      key?: Buffer | string;
      headers?: Record<string, string>;
    } = {};
    await kc.applyToHTTPSOptions(https);
    const agent = new Agent({
      connect: {
        ...(https.ca ? { ca: https.ca } : {}),
        ...(https.cert ? { cert: https.cert } : {}),
        ...(https.key ? { key: https.key } : {}),
        rejectUnauthorized: !cluster.skipTLSVerify,
      },
      keepAliveTimeout: 30_000,
      connections: 32,
      // HTTP/1.1: undici's HTTP/2 client surfaced the apiserver's GOAWAY as an uncaught socket error.
      allowH2: false,
    });
    const headers: Record<string, string> = {
      'user-agent': opts.userAgent ?? 'acp-operator',
      ...(https.headers ?? {}),
    };
    return new KubeClient(cluster.server, agent, headers, opts);
  }

  withOptions(opts: KubeClientOptions): KubeClient {
    return new KubeClient(this.server, this.dispatcher, this.headers, { ...this.opts, ...opts });
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
    const send = (): ReturnType<typeof request> =>
      request(this.url(path, opts.query), {
        method: verb,
        dispatcher: this.dispatcher,
        headers: {
          ...this.headers,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': contentType ?? 'application/json' }),
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        signal: opts.signal
          ? AbortSignal.any([opts.signal, AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000)])
          : AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000),
      });
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await send();
    } catch (e) {
      // A kept-alive connection the server closed before answering: send once more on a new one.
      // (Creates may then meet AlreadyExists, which every caller handles.)
      if ((e as { code?: string }).code !== 'UND_ERR_SOCKET') throw e;
      res = await send();
    }
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

  list<T>(path: string, query: RequestOptions['query'] = {}): Promise<ListResult<T>> {
    return this.get<ListResult<T>>(path, { query });
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
    query: RequestOptions['query'] = {},
  ): Promise<void> {
    // The server ends a watch after timeoutSeconds; a stream silent for longer is dead (partition, frozen peer).
    const idle = new AbortController();
    let idleTimer = setTimeout(() => idle.abort(new Error('watch stream idle')), WATCH_IDLE_MS);
    const res = await request(
      this.url(path, {
        ...query,
        watch: true,
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: 300,
      }),
      {
        method: 'GET',
        dispatcher: this.dispatcher,
        headers: { ...this.headers, accept: 'application/json' },
        signal: AbortSignal.any([signal, idle.signal]),
      },
    );
    this.opts.onRequest?.('WATCH', res.statusCode);
    if (res.statusCode >= 400)
      throw this.error(res.statusCode, await res.body.text(), res.headers['retry-after']);
    let buffered = '';
    for await (const chunk of res.body) {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => idle.abort(new Error('watch stream idle')), WATCH_IDLE_MS);
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
    clearTimeout(idleTimer);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
