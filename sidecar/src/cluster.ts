// N workers on one inbound port (node:cluster, scheduling left to the
// kernel: every worker accepts on the shared socket). The primary serves
// the admin port (ready when every worker is; /metrics aggregated from the
// workers; /config the config every worker reports it has in force, 503
// while they differ), owns the session-ticket key (so a ticket from one worker
// resumes on another) and rotates it, re-forks a worker that dies, and on
// SIGTERM asks every worker to drain and exits when they have. Worker 0
// also serves the outbound proxy.
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { AggregatorRegistry, Registry } from 'prom-client';
import { createAdminServer, type AdminConfigReport } from './server/admin.ts';
import type { CliOptions } from './cli.ts';
import { compilePolicy, parseConfig } from './config/policy.ts';
import { readConfigText } from './reload.ts';
import { startSidecar, type Sidecar, type SidecarOptions } from './runtime.ts';
import { readCredentialFiles, validateCredentials } from './tls/credentials.ts';
import { createTicketKeys } from './tls/ticket-keys.ts';

interface ClusterMessage {
  type: 'acp-ready' | 'acp-ticket-key' | 'acp-config';
  key?: string;
  report?: AdminConfigReport;
}

/** The config every worker reports, when they all report the same one (the primary's /config). */
export function agreedConfig(
  reports: ReadonlyMap<number, AdminConfigReport>,
  workers: number,
): AdminConfigReport | undefined {
  const all = [...reports.values()];
  const first = all[0];
  if (all.length !== workers || !first) return undefined;
  return all.every((r) => r.configHash === first.configHash && r.version === first.version)
    ? first
    : undefined;
}

const isMessage = (m: unknown): m is ClusterMessage =>
  typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';

export async function runPrimary(opts: CliOptions): Promise<void> {
  // Refuse to start here, with the same messages, rather than in N workers.
  const text = await readConfigText(opts.configPath);
  const config = compilePolicy(parseConfig(text), text, {
    nowMs: Date.now,
    remoteJwks: () => ({
      getKey: () => Promise.reject(new Error('unused')),
      refresh: () => Promise.resolve(false),
    }),
  }).config;
  validateCredentials(await readCredentialFiles(opts.identityDir), Date.now());

  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let key = randomBytes(48);
  const ready = new Set<number>();
  const configs = new Map<number, AdminConfigReport>();
  let stopping = false;
  const sendKey = (w: Worker): void => void w.send({ type: 'acp-ticket-key', key: key.toString('base64') });
  const fork = (index: number): void => {
    const w = cluster.fork({ ACP_WORKER_INDEX: String(index) });
    w.on('message', (m: unknown) => {
      if (isMessage(m) && m.type === 'acp-ready') ready.add(index);
      if (isMessage(m) && m.type === 'acp-config' && m.report) configs.set(index, m.report);
    });
    w.on('online', () => sendKey(w));
    w.on('exit', () => {
      ready.delete(index);
      configs.delete(index);
      if (!stopping) fork(index);
      else if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  for (let i = 0; i < opts.workers; i++) fork(i);
  const rotate = setInterval(() => {
    key = randomBytes(48);
    for (const w of Object.values(cluster.workers ?? {})) if (w) sendKey(w);
  }, 3_600_000);
  rotate.unref();

  const aggregator = new AggregatorRegistry();
  const admin = createAdminServer({
    ready: () => !stopping && ready.size === opts.workers,
    metrics: () => aggregator.clusterMetrics(),
    contentType: Registry.PROMETHEUS_CONTENT_TYPE,
    config: () => agreedConfig(configs, opts.workers),
  });
  admin.listen(config.listeners.adminPort, opts.host);
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

export async function runWorker(common: SidecarOptions): Promise<Sidecar> {
  const index = Number(process.env['ACP_WORKER_INDEX'] ?? '0');
  const tickets = createTicketKeys();
  // Constructing one installs prom-client's worker-side listener that answers the primary.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([common.registry]);
  const sidecar = await startSidecar({
    ...common,
    exclusive: false,
    ports: { admin: null, ...(index === 0 ? {} : { outbound: null }) },
    ticketKeys: tickets,
    ticketRotateMs: 2 ** 31 - 1,
    onConfig: (report) => void process.send?.({ type: 'acp-config', report }),
  });
  process.on('message', (m: unknown) => {
    if (isMessage(m) && m.type === 'acp-ticket-key' && m.key)
      sidecar.setTicketKey(Buffer.from(m.key, 'base64'));
  });
  process.send?.({ type: 'acp-ready' });
  return sidecar;
}
