// Assembles one sidecar process from what is passed in (logger, audit
// logger, clock, metrics registry, file locations): loads and validates
// config and credentials (refusing to start when either is bad), builds the
// layer stack, starts the inbound, admin and outbound listeners, watches
// the files, and stops gracefully (stop accepting, drain in-flight
// requests, flush audit records). The request path, as one list:
//   rescue -> framing -> path -> ambiguity -> peer -> jwt -> rate limit -> body limit -> body token -> forward
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { compilePolicy, parseConfig, type Policy } from './config/policy.ts';
import { createRemoteJwks, type RemoteJwks, type RemoteJwksSettings } from './jwt/remote-jwks.ts';
import { ambiguityLayer, bodyTokenLayer } from './layers/ambiguity.ts';
import { bodyLimitLayer } from './layers/body-limit.ts';
import { forwardHandler } from './layers/forward.ts';
import { framingLayer } from './layers/framing.ts';
import { jwtLayer } from './layers/jwt.ts';
import { pathLayer } from './layers/path.ts';
import { peerLayer } from './layers/peer.ts';
import { rateLimitLayer } from './layers/rate-limit.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { AuditLog } from './pipeline/audit.ts';
import { createRecorder } from './pipeline/recorder.ts';
import { createRescue } from './pipeline/rescue.ts';
import { compose, type Handler } from './pipeline/types.ts';
import { readConfigText, startReloader, type Reloader } from './reload.ts';
import { configHash } from '@acp/crds/sidecar';
import { createAdminServer, registryMetrics, type AdminConfigReport } from './server/admin.ts';
import { createInbound } from './server/inbound.ts';
import { createOutbound } from './server/outbound.ts';
import { createOutboundMetrics } from './server/outbound-metrics.ts';
import { readCredentialFiles, validateCredentials, type Credentials } from './tls/credentials.ts';
import { createTicketKeys, type TicketKeySource } from './tls/ticket-keys.ts';
import { H2cUpstream } from './upstream/h2c.ts';
import { UpstreamPool } from './upstream/pool.ts';
import { SIDECAR_VERSION } from './version.ts';

export interface SidecarOptions {
  configPath: string;
  identityDir: string;
  log: Logger;
  audit: AuditLog;
  /** Flushes buffered audit records (called last on stop). */
  flushAudit: () => void;
  registry: Registry;
  nowMs: () => number;
  fetch: typeof fetch;
  /** Listen host for the inbound and admin ports (outbound is always 127.0.0.1). */
  host: string;
  /** Port overrides (tests use 0); default: the config's listeners. */
  ports?: { inbound?: number; admin?: number | null; outbound?: number | null };
  /** Told the config in force at start and after each reload (a cluster worker tells its primary). */
  onConfig?: (report: AdminConfigReport) => void;
  pollMs?: number;
  drainTimeoutMs?: number;
  /** The inbound HTTP/1.1 fast path (server/fast-http.ts); default on. */
  httpFastPath?: boolean;
  ticketRotateMs?: number;
  /** Share the inbound port between cluster workers (set by the cluster primary). */
  exclusive?: boolean;
  ticketKeys?: TicketKeySource;
}

export interface Sidecar {
  readonly ports: { inbound: number; admin: number | null; outbound: number | null };
  readonly metrics: Metrics;
  policy(): Policy;
  credentials(): Credentials;
  ready(): boolean;
  reload(): Promise<void>;
  /** Installs a session-ticket key (a cluster primary shares one key with all workers). */
  setTicketKey(key: Buffer): void;
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string, exclusive: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startSidecar(o: SidecarOptions): Promise<Sidecar> {
  const metrics = createMetrics(o.registry);
  const remotes = new Map<string, RemoteJwks>();
  const remoteJwks = (s: RemoteJwksSettings): RemoteJwks => {
    const key = JSON.stringify(s);
    let r = remotes.get(key);
    if (!r) {
      r = createRemoteJwks(s, {
        fetch: o.fetch,
        nowMs: o.nowMs,
        onError: (uri, e) => o.log.warn({ type: 'event', uri, err: String(e) }, 'remote JWKS fetch failed'),
      });
      remotes.set(key, r);
    }
    return r;
  };
  const text = await readConfigText(o.configPath);
  let policy = compilePolicy(parseConfig(text), text, { nowMs: o.nowMs, remoteJwks });
  const report = (): AdminConfigReport => ({
    configHash: configHash(policy.config),
    version: SIDECAR_VERSION,
    policy: policy.config.policy,
  });
  let inForce = report();
  o.onConfig?.(inForce);
  let credentials = validateCredentials(await readCredentialFiles(o.identityDir), o.nowMs());
  metrics.certificateExpiry(credentials.notAfterMs);
  let ready = false;
  let draining = false;

  const pools = new Map<number, UpstreamPool>();
  const pool = (port: number, connectTimeoutMs: number): UpstreamPool => {
    let p = pools.get(port);
    if (!p) {
      p = new UpstreamPool({
        host: '127.0.0.1',
        port,
        maxConnections: 128,
        connectTimeoutMs,
        keepAliveMs: 4000,
        maxHeadBytes: 64 * 1024,
        nowMs: o.nowMs,
      });
      pools.set(port, p);
    }
    return p;
  };

  const h2cs = new Map<number, H2cUpstream>();
  const h2c = (port: number, connectTimeoutMs: number): H2cUpstream => {
    let u = h2cs.get(port);
    if (!u) h2cs.set(port, (u = new H2cUpstream({ host: '127.0.0.1', port, connectTimeoutMs })));
    return u;
  };

  const recorder = createRecorder({ audit: o.audit, metrics, nowMs: o.nowMs });
  const rescue = createRescue({ recorder, log: o.log });
  const handler: Handler = compose(
    [
      rescue.layer,
      framingLayer,
      pathLayer,
      ambiguityLayer,
      peerLayer,
      jwtLayer(metrics),
      rateLimitLayer(metrics, o.nowMs),
      bodyLimitLayer,
      bodyTokenLayer,
    ],
    forwardHandler({
      upstream: (ctx) => pool(ctx.policy.config.upstream.port, ctx.policy.config.upstream.connectTimeoutMs),
      h2c: (ctx) => h2c(ctx.policy.config.upstream.port, ctx.policy.config.upstream.connectTimeoutMs),
      recorder,
      selfId: () => credentials.selfId,
      draining: () => draining,
      fail: rescue.fail,
    }),
  );
  const tickets = o.ticketKeys ?? createTicketKeys();
  const inbound = createInbound({
    policy: () => policy,
    credentials: () => credentials,
    ticketKey: () => tickets.current(),
    handler,
    metrics,
    audit: o.audit,
    nowMs: o.nowMs,
    draining: () => draining,
    fastPath: o.httpFastPath ?? true,
    fail: rescue.fail,
    finish: (ctx, status, decision, reason) => recorder.finish(ctx, status, decision, reason),
    log: o.log,
  });
  const ticketTimer = setInterval(() => {
    tickets.rotate();
    inbound.applyTicketKey();
  }, o.ticketRotateMs ?? 3_600_000);
  ticketTimer.unref();

  const cfg = policy.config.listeners;
  const inboundPort = await listen(
    inbound.server,
    o.ports?.inbound ?? cfg.inboundPort,
    o.host,
    o.exclusive ?? true,
  );
  const outbound =
    o.ports?.outbound === null
      ? null
      : createOutbound({
          config: () => policy.config,
          credentials: () => credentials,
          audit: o.audit,
          metrics: createOutboundMetrics(o.registry),
        });
  const outboundPort = outbound
    ? await listen(outbound.server, o.ports?.outbound ?? cfg.outboundPort, '127.0.0.1', true)
    : null;
  const admin =
    o.ports?.admin === null
      ? null
      : createAdminServer({
          ready: () => ready,
          metrics: registryMetrics(o.registry),
          contentType: o.registry.contentType,
          config: () => inForce,
        });
  const adminPort = admin ? await listen(admin, o.ports?.admin ?? cfg.adminPort, o.host, true) : null;

  const reloader: Reloader = startReloader({
    configPath: o.configPath,
    identityDir: o.identityDir,
    watchDirs: [...new Set([dirname(o.configPath), o.identityDir])],
    pollMs: o.pollMs ?? 5000,
    debounceMs: 100,
    nowMs: o.nowMs,
    log: o.log,
    metrics,
    targets: {
      config(next) {
        const parsed = parseConfig(next);
        const compiled = compilePolicy(parsed, next, { nowMs: o.nowMs, remoteJwks });
        if (compiled.fingerprint === policy.fingerprint) return false;
        policy = compiled;
        inForce = report();
        o.onConfig?.(inForce);
        inbound.applySnapshot();
        return true;
      },
      credentials(files) {
        const next = validateCredentials(files, o.nowMs());
        if (next.fingerprint === credentials.fingerprint) return false;
        credentials = next;
        inbound.applySnapshot();
        metrics.certificateExpiry(next.notAfterMs);
        return true;
      },
    },
  });
  ready = true;
  metrics.setReady(true);
  o.log.info(
    { type: 'event', inboundPort, adminPort, outboundPort, policy: policy.config.policy },
    'sidecar ready',
  );

  let stopping: Promise<void> | null = null;
  async function stop(): Promise<void> {
    ready = false;
    draining = true;
    metrics.setReady(false);
    reloader.close();
    clearInterval(ticketTimer);
    const closed = new Promise<void>((resolve) => inbound.server.close(() => resolve()));
    inbound.closeIdleConnections();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, o.drainTimeoutMs ?? 20_000).unref());
    await Promise.race([closed, timeout]);
    inbound.closeAllConnections();
    if (outbound) {
      outbound.server.close();
      outbound.server.closeAllConnections();
      await outbound.close();
    }
    await Promise.all([...pools.values(), ...h2cs.values()].map((p) => p.close()));
    if (admin) {
      admin.close();
      admin.closeAllConnections();
    }
    o.log.info({ type: 'event' }, 'sidecar stopped');
    o.flushAudit();
  }
  return {
    ports: { inbound: inboundPort, admin: adminPort, outbound: outboundPort },
    metrics,
    policy: () => policy,
    credentials: () => credentials,
    ready: () => ready,
    reload: () => reloader.check(),
    setTicketKey(key) {
      tickets.rotate(key);
      inbound.applyTicketKey();
    },
    stop: () => (stopping ??= stop()),
  };
}
