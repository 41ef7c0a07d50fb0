// The process entry point (`npm run -w webhooks start -- [flags]`): parses
// flags, loads the injection settings file and finds the apiserver
// ($KUBECONFIG, in-cluster, or ~/.kube/config), creates the logger (pino JSON on stdout), registry and
// clock, starts the webhook, and stops it on SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse } from 'yaml';
import { errorMessage } from '@acp/crds';
import { loadConnection, systemClock } from '@acp/kube';
import { parseConfig } from './config.ts';
import { parseInjectionConfig } from './inject/config.ts';
import { startWebhook } from './webhook.ts';

function fail(message: string): never {
  process.stderr.write(`acp-webhook: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env);
  const injection = parseInjectionConfig(
    config.injectionConfigFile
      ? (parse(readFileSync(config.injectionConfigFile, 'utf8')) as unknown)
      : undefined,
  );
  // Asynchronous, buffered stdout: a synchronous write per admission would sit on the hot path.
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const log = pino(
    { level: config.logLevel, base: { component: 'acp-webhook' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  );
  process.on('exit', () => destination.flushSync());
  const connection = loadConnection(process.env['KUBECONFIG'], process.env);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'acp_webhook_' });
  const webhook = await startWebhook({ connection, log, registry, clock: systemClock, config, injection });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      log.info({ signal: sig }, 'stopping');
      destination.flushSync();
      webhook.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main().catch((e: unknown) => fail(errorMessage(e)));
