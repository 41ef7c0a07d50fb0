// The process entry point (`node sidecar/src/main.ts --config FILE
// --identity-dir DIR`): refuses insecure runtimes and bad flags, creates the
// loggers (pino JSON and audit lines on stdout through one buffered
// LineSink, flushed at least every second and on exit), and runs one
// sidecar in this process or, with --workers N, a cluster primary and N
// workers, each with Node's runtime metrics (prom-client's default set).
// SIGTERM/SIGINT drain and exit 0; a failure to start prints the reason and
// exits 1.
import cluster from 'node:cluster';
import { collectDefaultMetrics, Registry } from 'prom-client';
import pino from 'pino';
import { errorMessage, isAcpError } from '@acp/crds/sidecar';
import { checkRuntime, parseArgs, type CliOptions } from './cli.ts';
import { runPrimary, runWorker } from './cluster.ts';
import { LineSink } from './line-sink.ts';
import { createAuditLog } from './pipeline/audit.ts';
import { startSidecar } from './runtime.ts';

function loggers(level: string) {
  const sink = new LineSink(1, {
    onError: (e) => process.stderr.write(`acp-sidecar: stdout is gone, log lines are lost: ${e.message}\n`),
  });
  const base = { base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' };
  const log = pino({ ...base, level }, sink);
  const audit = createAuditLog(sink, Date.now);
  process.on('exit', () => sink.end());
  return { log, audit, flush: () => sink.flushSync() };
}

function fail(message: string): never {
  process.stderr.write(`acp-sidecar: ${message}\n`);
  process.exit(1);
}

async function runSingle(opts: CliOptions, worker: boolean): Promise<void> {
  const { log, audit, flush } = loggers(opts.logLevel);
  process.on('uncaughtException', (e) => {
    log.fatal({ type: 'event', err: errorMessage(e) }, 'uncaught exception');
    flush();
    process.exit(1);
  });
  const registry = new Registry();
  // The process's own figures (CPU, memory, event-loop delay percentiles, GC pauses by kind): what
  // explains a latency tail the request metrics show. With --workers they are summed or averaged
  // across the workers by the primary's aggregation.
  collectDefaultMetrics({ register: registry, prefix: 'acp_sidecar_' });
  const common = {
    configPath: opts.configPath,
    identityDir: opts.identityDir,
    log,
    audit,
    flushAudit: flush,
    registry,
    nowMs: Date.now,
    fetch: globalThis.fetch,
    host: opts.host,
    drainTimeoutMs: opts.drainTimeoutMs,
    httpFastPath: opts.httpFastPath,
  };
  const sidecar = worker ? await runWorker(common) : await startSidecar(common);
  let stopping = false;
  const onSignal = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ type: 'event', signal: sig }, 'draining');
    void sidecar.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

async function main(): Promise<void> {
  let opts: CliOptions;
  try {
    checkRuntime(process.execArgv, process.env);
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    fail(errorMessage(e));
  }
  try {
    if (cluster.isPrimary && opts.workers > 1) await runPrimary(opts);
    else await runSingle(opts, !cluster.isPrimary);
  } catch (e) {
    fail(isAcpError(e) ? `${e.code}: ${e.message}` : errorMessage(e));
  }
}

await main();
