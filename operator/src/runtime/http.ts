// The operator's plain HTTP endpoint: /healthz (the process serves),
// /readyz (the caches are synced; standby replicas are ready too) and
// /metrics (Prometheus text from the registry passed in).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export function startHttpServer(opts: {
  host: string;
  port: number;
  registry: Registry;
  ready: () => boolean;
}): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ok = opts.ready();
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ok ? 'ok\n' : 'caches not synced\n');
    } else if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
