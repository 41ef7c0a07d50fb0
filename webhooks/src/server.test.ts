import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { DEFAULT_INJECTION_CONFIG } from './inject/config.ts';
import { createMetrics } from './runtime/metrics.ts';
import { createApp, listenHttps, type HttpsListener } from './server.ts';
import { loopbackCertificate } from './testing/certs.ts';
import { silentLogger } from './testing/fakes.ts';

interface Reply {
  status: number;
  body: any;
}

describe('admission server over HTTPS', () => {
  let listener: HttpsListener;
  let ca: string;
  let notReady: string | undefined;
  const known = new Set<string>();
  const registry = new Registry();

  const send = (method: string, path: string, body?: string | Buffer, chunked = false): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: listener.port,
          path,
          method,
          ca,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', reject);
      // A write before end() makes Node send the body chunked, with no Content-Length.
      if (chunked && Buffer.isBuffer(body)) {
        req.write(body.subarray(0, 1024));
        req.end(body.subarray(1024));
      } else req.end(body);
    });
  const review = (req: unknown, apiVersion = 'admission.k8s.io/v1') =>
    JSON.stringify({ apiVersion, kind: 'AdmissionReview', request: req });
  const podRequest = (
    uid: string,
    object: unknown = { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'app' }] } },
  ) => ({
    uid,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'shop',
    operation: 'CREATE',
    object,
  });

  before(async () => {
    const leaf = await loopbackCertificate(3_600_000);
    ca = leaf.caPem;
    const app = createApp({
      log: silentLogger(),
      metrics: createMetrics(registry),
      registry,
      notReady: () => notReady,
      lookupNamespace: (ns) => {
        if (ns === 'missing') return Promise.reject(new Error('namespaces "missing" not found'));
        known.add(ns);
        return Promise.resolve();
      },
      inject: {
        config: DEFAULT_INJECTION_CONFIG,
        excludedNamespaces: new Set(['kube-system']),
        policiesIn: () => [
          {
            name: 'api',
            creationTimestamp: '2024-01-01T00:00:00Z',
            selector: { matchLabels: { app: 'api' } },
          },
        ],
        namespaceLabels: (ns) =>
          ns === 'shop' || known.has(ns) ? { 'acp.dev/injection': 'enabled' } : undefined,
      },
      validate: { excludedNamespaces: new Set(['kube-system']), policiesIn: () => [] },
    });
    listener = await listenHttps(app, { port: 0, host: '127.0.0.1', cert: leaf });
  });
  after(() => listener.close());

  it('injects a valid pod and answers with a base64 JSON Patch', async () => {
    const r = await send('POST', '/inject', review(podRequest('u-1')));
    assert.equal(r.status, 200);
    assert.equal(r.body.apiVersion, 'admission.k8s.io/v1');
    assert.equal(r.body.response.uid, 'u-1');
    assert.equal(r.body.response.allowed, true);
    assert.equal(r.body.response.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(r.body.response.patch, 'base64').toString());
    assert.ok(ops.some((o: any) => o.path === '/spec/initContainers' && o.value[0].name === 'acp-sidecar'));
  });

  const malformed: [string, string | Buffer, number, string, RegExp][] = [
    ['invalid JSON', '{"apiVersion": ', 400, '', /not valid JSON/],
    ['a JSON array', '[]', 400, '', /not a JSON object/],
    [
      'an AdmissionReview without request',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
      400,
      '',
      /no request/,
    ],
    ['a request without uid', review({ ...podRequest(''), uid: undefined }), 400, '', /no uid/],
    [
      'the wrong apiVersion (the uid is echoed)',
      review(podRequest('u-2'), 'admission.k8s.io/v1beta1'),
      200,
      'u-2',
      /expected an AdmissionReview of admission.k8s.io\/v1/,
    ],
    [
      'a Deployment sent to the pod webhook',
      review({
        ...podRequest('u-3'),
        kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
        resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      }),
      200,
      'u-3',
      /admits pods, not Deployment/,
    ],
    [
      'a pod without containers',
      review(podRequest('u-4', { spec: {} })),
      200,
      'u-4',
      /no valid spec.containers/,
    ],
    [
      'a request without object',
      review({ ...podRequest('u-5'), object: undefined }),
      200,
      'u-5',
      /carries no pod/,
    ],
    [
      'an unknown operation',
      review({ ...podRequest('u-6'), operation: 'PATCH' }),
      200,
      'u-6',
      /unknown operation/,
    ],
    ['a 10 MB body', Buffer.alloc(10 * 1024 * 1024, 0x20), 413, '', /too large/],
  ];
  for (const [name, body, status, uid, message] of malformed) {
    it(`answers ${name} with an error response, not a crash`, async () => {
      const r = await send('POST', '/inject', body);
      assert.equal(r.status, status);
      assert.equal(r.body.kind, 'AdmissionReview');
      assert.equal(r.body.response.uid, uid);
      assert.equal(r.body.response.allowed, false);
      assert.match(r.body.response.status.message, message);
    });
  }

  it('answers a chunked body that grows past the cap (no Content-Length) with 413, not a crash', async () => {
    const r = await send('POST', '/inject', Buffer.alloc(10 * 1024 * 1024, 0x20), true);
    assert.equal(r.status, 413);
    assert.equal(r.body.response.allowed, false);
    assert.match(r.body.response.status.message, /too large/);
  });

  it('looks up a namespace the cache does not know yet instead of skipping its pod', async () => {
    const r = await send('POST', '/inject', review({ ...podRequest('u-10'), namespace: 'fresh' }));
    assert.equal(r.body.response.allowed, true);
    assert.equal(r.body.response.patchType, 'JSONPatch');
    assert.ok(known.has('fresh'));
  });

  it('refuses the pod when the unknown namespace cannot be looked up', async () => {
    const r = await send('POST', '/inject', review({ ...podRequest('u-11'), namespace: 'missing' }));
    assert.equal(r.body.response.allowed, false);
    assert.equal(r.body.response.status.code, 503);
    assert.match(r.body.response.status.message, /namespace missing is not known yet/);
  });

  it('still serves after every malformed request', async () => {
    assert.equal((await send('POST', '/inject', review(podRequest('u-7')))).body.response.allowed, true);
  });

  it('validates policies on its own path', async () => {
    const r = await send(
      'POST',
      '/validate-policy',
      review({
        uid: 'p-1',
        kind: { group: 'compliance.acp.dev', version: 'v1alpha1', kind: 'ApiCompliancePolicy' },
        resource: { group: 'compliance.acp.dev', version: 'v1alpha1', resource: 'apicompliancepolicies' },
        namespace: 'kube-system',
        operation: 'CREATE',
        object: { metadata: { name: 'p' }, spec: { selector: {} } },
      }),
    );
    assert.equal(r.body.response.allowed, false);
    assert.equal(r.body.response.status.code, 422);
    assert.match(r.body.response.status.message, /can never apply/);
  });

  it('refuses with 503 while not ready, and /readyz says why', async () => {
    notReady = 'caches not synced';
    try {
      const r = await send('POST', '/inject', review(podRequest('u-8')));
      assert.equal(r.body.response.uid, 'u-8');
      assert.equal(r.body.response.allowed, false);
      assert.equal(r.body.response.status.code, 503);
      assert.equal((await send('GET', '/readyz')).status, 503);
    } finally {
      notReady = undefined;
    }
    assert.equal((await send('GET', '/readyz')).status, 200);
    assert.equal((await send('GET', '/healthz')).status, 200);
  });

  it('counts injections, skips by reason, errors and latency in /metrics', async () => {
    await send('POST', '/inject', review({ ...podRequest('u-9'), namespace: 'kube-system' }));
    const text = (await send('GET', '/metrics')).body as string;
    assert.match(text, /acp_webhook_injections_total\{dry_run="false"\} [1-9]/);
    assert.match(text, /acp_webhook_skips_total\{reason="system_namespace",dry_run="false"\} 1/);
    assert.match(text, /acp_webhook_errors_total\{webhook="inject",code="ACP_ERR_ADMISSION_TOO_LARGE"\} 2/);
    assert.match(
      text,
      /acp_webhook_admission_duration_seconds_count\{webhook="inject",outcome="injected"\} [1-9]/,
    );
  });
});
