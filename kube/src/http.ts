// The health and metrics endpoints of every process: /healthz (the process
// serves), /readyz (200, or 503 with the reason the process gives) and
// /metrics (Prometheus text from the registry passed in). probes() answers
// them inside any node:http-style server (the webhook mounts it in its
// HTTPS app too); startHttpServer() is the plain HTTP listener for them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface ProbeOptions {
  registry: Registry;
  /** Why the process is not ready (caches not synced, no certificate), or undefined when it is. */
  notReady: () => string | undefined;
}

/** Answers GET /healthz, /readyz and /metrics; returns false for any other request. */
export function probes(opts: ProbeOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const why = opts.notReady();
      res
        .writeHead(why ? 503 : 200, { 'content-type': 'text/plain' })
        .end(why ? `not ready: ${why}\n` : 'ok\n');
    } else if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      return false;
    }
    return true;
  };
}

/** A plain HTTP server for the probes (404 for anything else); resolves once listening. */
export function startHttpServer(opts: ProbeOptions & { host: string; port: number }): Promise<Server> {
  const answer = probes(opts);
  const server = createServer((req, res) => {
    if (!answer(req, res)) res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
