// The HTTP shell around the pure admission functions: an express app with
// POST /inject and POST /validate-policy (AdmissionReview v1 in and out),
// GET /healthz, /readyz and /metrics (the runtime's probes); an HTTPS server whose certificate is
// swapped in place (setSecureContext) when the manager issues a new one.
// Every malformed request (invalid JSON, too large, not an AdmissionReview,
// no uid, the wrong object) gets an AdmissionReview error response that
// echoes the uid when there is one; nothing throws out of a handler.
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { WEBHOOK_PATHS, errorMessage } from '@acp/crds';
import { probes } from '@acp/kube';
import { admitPod, type Admission, type InjectDeps } from './admission/inject.ts';
import { decodeReview, deny, review, type AdmissionRequest } from './admission/review.ts';
import { admitPolicy, type ValidateDeps } from './admission/validate.ts';
import type { ServingCertificate } from './certs/manager.ts';
import type { WebhookMetrics } from './runtime/metrics.ts';
import { BodyError, jsonBody, sendJson } from './http-json.ts';

export interface AppDeps {
  log: Logger;
  metrics: WebhookMetrics;
  registry: Registry;
  inject: InjectDeps;
  validate: ValidateDeps;
  /** Why the webhook cannot answer yet (caches not synced, no certificate), or undefined when ready. */
  notReady(): string | undefined;
  /**
   * Fetches a namespace the cache does not know yet (created an instant
   * before the pod) so its opt-in label is not missed; rejects when it
   * cannot (the pod is then refused, never created unprotected).
   */
  lookupNamespace?: (namespace: string) => Promise<void>;
  /** Largest accepted request body (default 6 MiB; the apiserver's own limit is 3 MiB per object). */
  maxBodyBytes?: number;
}

type WebhookName = 'inject' | 'validate';

function record(
  deps: AppDeps,
  webhook: WebhookName,
  req: AdmissionRequest,
  a: Admission,
  seconds: number,
): void {
  const { metrics, log } = deps;
  const o = a.outcome;
  const dryRun = String(req.dryRun);
  metrics.admissionDuration.observe({ webhook, outcome: o.kind }, seconds);
  const base = {
    webhook,
    uid: req.uid,
    namespace: req.namespace,
    name: req.name,
    operation: req.operation,
    dryRun: req.dryRun,
  };
  switch (o.kind) {
    case 'injected':
      metrics.injections.inc({ dry_run: dryRun });
      log.info(
        { ...base, outcome: 'injected', policy: o.policy, matchedPolicies: o.matched },
        'sidecar injected',
      );
      break;
    case 'skipped':
      metrics.skips.inc({ reason: o.reason, dry_run: dryRun });
      log.info({ ...base, outcome: 'skipped', reason: o.reason }, o.message);
      break;
    case 'allowed':
      metrics.policyDecisions.inc({ result: 'allowed' });
      log.info({ ...base, outcome: 'allowed', warnings: o.warnings }, 'policy allowed');
      break;
    case 'refused':
      metrics.policyDecisions.inc({ result: 'refused' });
      log.info({ ...base, outcome: 'refused' }, o.message);
      break;
    case 'error':
      metrics.errors.inc({ webhook, code: o.code });
      log.warn({ ...base, outcome: 'error', code: o.code }, o.message);
      break;
  }
}

const notReadyAdmission = (uid: string, why: string): Admission => ({
  response: deny(uid, 503, `the ACP webhook is not ready: ${why}`, 'ServiceUnavailable'),
  outcome: { kind: 'error', code: 'ACP_ERR_WEBHOOK_NOT_READY', message: why },
});

async function admit(deps: AppDeps, webhook: WebhookName, request: AdmissionRequest): Promise<Admission> {
  const notReady = deps.notReady();
  if (notReady) return notReadyAdmission(request.uid, notReady);
  if (webhook === 'validate') return admitPolicy(request, deps.validate);
  const ns = request.namespace;
  if (ns && deps.lookupNamespace && deps.inject.namespaceLabels(ns) === undefined) {
    try {
      await deps.lookupNamespace(ns);
    } catch (e) {
      return notReadyAdmission(request.uid, `namespace ${ns} is not known yet: ${errorMessage(e)}`);
    }
  }
  return admitPod(request, deps.inject);
}

function handler(deps: AppDeps, webhook: WebhookName) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = process.hrtime.bigint();
    const decoded = decodeReview(req.body);
    if (!decoded.ok) {
      deps.metrics.errors.inc({ webhook, code: 'ACP_ERR_ADMISSION_MALFORMED' });
      deps.log.warn({ webhook, uid: decoded.uid, code: 'ACP_ERR_ADMISSION_MALFORMED' }, decoded.message);
      sendJson(
        res,
        decoded.uid ? 200 : 400,
        review(deny(decoded.uid, decoded.code, decoded.message, decoded.reason)),
      );
      return;
    }
    const request = decoded.request;
    const admission = await admit(deps, webhook, request);
    record(deps, webhook, request, admission, Number(process.hrtime.bigint() - started) / 1e9);
    sendJson(res, 200, review(admission.response));
  };
}

/** Body errors and unexpected errors become AdmissionReview error responses, never a crash. */
function errors(deps: AppDeps) {
  // Express recognises an error handler by its four parameters.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const status = err instanceof BodyError ? err.status : 500;
    const code = err instanceof BodyError ? err.code : 'ACP_ERR_INTERNAL';
    const webhook = req.path === WEBHOOK_PATHS.inject ? 'inject' : 'validate';
    deps.metrics.errors.inc({ webhook, code });
    deps.log.warn({ webhook, code, status, err: errorMessage(err) }, 'bad admission request');
    const message = err instanceof BodyError ? err.message : 'internal error';
    sendJson(res, status, review(deny('', status, message, status === 500 ? 'InternalError' : 'BadRequest')));
  };
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const body = jsonBody(deps.maxBodyBytes ?? 6 * 1024 * 1024);
  app.post(WEBHOOK_PATHS.inject, body, handler(deps, 'inject'));
  app.post(WEBHOOK_PATHS.validatePolicy, body, handler(deps, 'validate'));
  const answerProbe = probes(deps);
  app.use((req, res, next) => {
    if (!answerProbe(req, res)) next();
  });
  app.use(errors(deps));
  return app;
}

export interface HttpsListener {
  server: Server;
  port: number;
  /** Swaps the served certificate for new connections (hot reload). */
  setCertificate(cert: ServingCertificate): void;
  close(): Promise<void>;
}

export async function listenHttps(
  app: express.Express,
  opts: { port: number; host: string; cert: ServingCertificate; onConnection?: () => void },
): Promise<HttpsListener> {
  const tls = (c: ServingCertificate) => ({ cert: c.certPem, key: c.keyPem, minVersion: 'TLSv1.2' as const });
  const server = createHttpsServer({ ...tls(opts.cert), keepAliveTimeout: 65_000 }, app);
  if (opts.onConnection) server.on('secureConnection', opts.onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    setCertificate: (c) => server.setSecureContext(tls(c)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
