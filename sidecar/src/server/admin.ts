// The admin listener (15021): /healthz (the process is up), /readyz (200
// only once credentials and config are loaded and the listeners are up;
// 503 while starting or draining), /metrics (Prometheus text from the
// registry passed in) and /config (the hash of the config in force, the
// sidecar's version and the policy it came from: what the operator's
// prober compares with what it compiled; no config content). Plain HTTP;
// nothing else is served.
import { createServer, type Server } from 'node:http';
import { ADMIN_PATHS } from '@acp/crds/sidecar';
import type { Registry } from 'prom-client';

export interface AdminDeps {
  ready: () => boolean;
  /** The metrics text (one registry, or the cluster aggregate). */
  metrics: () => Promise<string>;
  contentType: string;
  /** What /config reports; undefined: 503 (a cluster primary whose workers do not agree yet). */
  config: () => AdminConfigReport | undefined;
}

export interface AdminConfigReport {
  configHash: string;
  version: string;
  policy: { namespace: string; name: string; generation: number };
}

export function createAdminServer(deps: AdminDeps): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === ADMIN_PATHS.healthz) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === ADMIN_PATHS.readyz) {
      const ready = deps.ready();
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready ? 'ready\n' : 'not ready\n');
      return;
    }
    if (path === ADMIN_PATHS.config) {
      const report = deps.config();
      if (report)
        res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(report)}\n`);
      else res.writeHead(503, { 'content-type': 'text/plain' }).end('config not agreed by every worker\n');
      return;
    }
    if (path === ADMIN_PATHS.metrics) {
      deps.metrics().then(
        (text) => res.writeHead(200, { 'content-type': deps.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
}

export function registryMetrics(registry: Registry): AdminDeps['metrics'] {
  return () => registry.metrics();
}
