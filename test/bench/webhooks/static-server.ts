// The admission server alone, for the latency benchmark: the real express
// app and HTTPS listener with fixed caches (one namespace, one policy), no
// cluster, logging like main.ts. Prints `PORT <n> PID <pid>` when listening; the CA
// goes to the file named by the first argument.
import { writeFileSync } from 'node:fs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createApp, listenHttps } from '../../../webhooks/src/server.ts';
import { createMetrics } from '../../../webhooks/src/runtime/metrics.ts';
import { DEFAULT_INJECTION_CONFIG } from '../../../webhooks/src/inject/config.ts';
import { loopbackCertificate } from '../../../webhooks/src/testing/certs.ts';

const caFile = process.argv[2] ?? '/dev/null';
const leaf = await loopbackCertificate();
writeFileSync(caFile, leaf.caPem);
const registry = new Registry();
const app = createApp({
  // As in production: one info line per admission, written asynchronously (here to /dev/null).
  log: pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 })),
  metrics: createMetrics(registry),
  registry,
  notReady: () => undefined,
  inject: {
    config: DEFAULT_INJECTION_CONFIG,
    excludedNamespaces: new Set(['kube-system', 'kube-node-lease', 'acp-system']),
    policiesIn: () => [
      {
        name: 'payments',
        creationTimestamp: '2024-01-01T00:00:00Z',
        selector: { matchLabels: { app: 'bench' } },
      },
    ],
    namespaceLabels: () => ({ 'acp.dev/injection': 'enabled' }),
  },
  validate: { excludedNamespaces: new Set(), policiesIn: () => [] },
});
const listener = await listenHttps(app, { port: 0, host: '127.0.0.1', cert: leaf });
process.stdout.write(`PORT ${listener.port} PID ${process.pid}\n`);
process.on('SIGTERM', () => void listener.close().then(() => process.exit(0)));
