// gRPC between two meshed services on a real node (kubelet + containerd +
// CNI + kube-proxy, the chart installed with helm): a callee Deployment
// whose app is an h2c gRPC server (policy upstream.protocol H2C) behind a
// plain Service, and caller pods whose app is a gRPC client that does what
// grpc-js and grpc-go do with the injected HTTP_PROXY: `CONNECT echo:8080`,
// then h2c with prior knowledge in the tunnel (node:http2 with gRPC
// framing: the image has no gRPC library). The caller's sidecar terminates
// the tunnel and sends the call over h2 + mTLS to the callee's sidecar
// through the operator's companion Service. Checked: short name and FQDN
// (grpc-status 0, the callee app sees the caller's SPIFFE ID, both audits
// name the other side), a caller the callee does not allow (grpc-status 7
// from the callee), and a name the caller may not reach (CONNECT refused
// with 403 and the code).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { kubectl, useCluster, type TestCluster } from '../../harness/cluster.ts';
import {
  applyJson,
  deployApp,
  injectedNamespace,
  installChart,
  must,
  readyPods,
  until,
  APP_LISTENING,
  IDLE_JS,
  policyDoc,
  readyPodName,
} from '../../harness/node/product.ts';

const image = process.env['ACP_TEST_IMAGE'] ?? '';
const NS = 'meshgrpc';
const idOf = (sa: string): string => `spiffe://cluster.local/ns/${NS}/sa/${sa}`;

/** The callee app: gRPC over h2c on loopback; every method answers `echo:<msg> caller=<x-acp-peer-id>`. */
const ECHO_JS = `
const http2 = require('http2');
const frame = (b) => { const f = Buffer.alloc(5 + b.length); f.writeUInt32BE(b.length, 1); b.copy(f, 5); return f; };
http2.createServer().on('stream', (st, h) => {
  const parts = [];
  st.on('data', (c) => parts.push(c));
  st.on('end', () => {
    const msg = Buffer.concat(parts).subarray(5).toString();
    st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': '0' }));
    st.end(frame(Buffer.from('echo:' + msg + ' caller=' + (h['x-acp-peer-id'] || '-'))));
  });
}).listen(8080, '127.0.0.1');
`.trim();

/**
 * The gRPC client, `node -e CLIENT_JS <host:port> <message>`: CONNECT through HTTP_PROXY (the
 * injected variable, nothing hard-coded), then one unary call in h2c; prints
 * `grpc-status=<n> <x-acp-error> <reply>` or `CONNECT <status> <x-acp-error>`.
 */
const CLIENT_JS = `
const http = require('http'), http2 = require('http2');
const [target, msg] = process.argv.slice(1);
const proxy = new URL(process.env.HTTP_PROXY || process.env.http_proxy);
const done = (line) => { console.log(line); process.exit(0); };
const q = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: target, headers: { host: target } });
q.setTimeout(15000, () => done('error timeout'));
q.on('error', (e) => done('error ' + (e.code || e.message)));
q.on('connect', (res, socket, head) => {
  if (res.statusCode !== 200) return done('CONNECT ' + res.statusCode + ' ' + (res.headers['x-acp-error'] || ''));
  if (head.length) socket.unshift(head);
  const s = http2.connect('http://' + target, { createConnection: () => socket });
  s.on('error', (e) => done('error ' + (e.code || e.message)));
  const body = Buffer.from(msg), f = Buffer.alloc(5 + body.length);
  f.writeUInt32BE(body.length, 1); body.copy(f, 5);
  const st = s.request({ ':method': 'POST', ':path': '/acp.test.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers' });
  let out = Buffer.alloc(0), h = {}, t = {};
  st.on('response', (x) => (h = x));
  st.on('trailers', (x) => (t = x));
  st.on('data', (c) => (out = Buffer.concat([out, c])));
  st.on('end', () => done('grpc-status=' + (t['grpc-status'] ?? h['grpc-status']) + ' ' + (t['x-acp-error'] ?? h['x-acp-error'] ?? '-') + ' ' + out.subarray(5).toString()));
  st.on('error', (e) => done('error ' + (e.code || e.message)));
  st.end(f);
});
q.end();
`.trim();

const policy = (name: string, spec: object): object => policyDoc(NS, name, spec);

let cluster: TestCluster;

const podOf = (selector: string): Promise<string> => readyPodName(cluster, NS, selector);

async function call(pod: string, target: string, msg: string): Promise<string> {
  const r = await kubectl(cluster, [
    'exec',
    '-n',
    NS,
    pod,
    '-c',
    'app',
    '--',
    'node',
    '-e',
    CLIENT_JS,
    target,
    msg,
  ]);
  return r.stdout.trim() || r.stderr.trim();
}

async function auditLines(pod: string, has: string): Promise<Record<string, unknown>[]> {
  const logs = await must(cluster, ['logs', '-n', NS, pod, '-c', 'acp-sidecar']);
  return logs
    .split('\n')
    .filter((l) => l.includes('"type":"audit"') && l.includes(has))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('gRPC between meshed services on a real node', { timeout: 1_200_000 }, () => {
  let client: string;

  before(async () => {
    assert.ok(image, 'ACP_TEST_IMAGE is set by the test command after `npm run image`');
    cluster = await useCluster();
    await installChart(cluster, image);
    await injectedNamespace(cluster, NS, ['echo', 'client', 'intruder']);
    await applyJson(
      cluster,
      policy('echo', {
        selector: { matchLabels: { app: 'echo' } },
        upstream: { port: 8080, protocol: 'H2C' },
        mtls: { mode: 'Strict', allowedPeers: [{ namespace: NS, serviceAccount: 'client' }] },
        audit: { enabled: true },
      }),
    );
    await applyJson(
      cluster,
      policy('callers', {
        selector: { matchLabels: { role: 'caller' } },
        upstream: { port: 8080 },
        egress: { default: 'Deny', allow: [{ service: 'echo' }] },
        audit: { enabled: true },
      }),
    );
    await applyJson(cluster, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo', namespace: NS, annotations: { 'acp.dev/service-accounts': 'echo' } },
      spec: { selector: { app: 'echo' }, ports: [{ name: 'grpc', port: 8080, targetPort: 8080 }] },
    });
    const app = (name: string, labels: Record<string, string>, js: string, probe: boolean): Promise<void> =>
      deployApp(cluster, {
        namespace: NS,
        name,
        serviceAccount: name,
        labels,
        image,
        js,
        ...(probe ? { container: APP_LISTENING } : {}),
      });
    await app('echo', { app: 'echo' }, ECHO_JS, true);
    await app('client', { role: 'caller', app: 'client' }, IDLE_JS, false);
    await app('intruder', { role: 'caller', app: 'intruder' }, IDLE_JS, false);
    await readyPods(cluster, NS, 'app=echo', 1, 240_000);
    client = await podOf('app=client');
  });

  test('a gRPC client through the injected proxy reaches the Service by name over h2 + mTLS; both audits name the other side', async () => {
    for (const target of ['echo:8080', `echo.${NS}.svc.cluster.local:8080`]) {
      const out = await until(`client -> ${target}`, 120_000, async () => {
        const o = await call(client, target, `hi-${target}`);
        return o.startsWith('grpc-status=0') ? o : undefined;
      });
      assert.equal(out, `grpc-status=0 - echo:hi-${target} caller=${idOf('client')}`);
    }
    const echo = await podOf('app=echo');
    const inbound = await until("the callee's audit records", 30_000, async () => {
      const recs = await auditLines(echo, '/acp.test.Echo/Unary');
      return recs.some((r) => r['status'] === 200) ? recs : undefined;
    });
    assert.ok(
      inbound.some((r) => r['peer'] === idOf('client') && r['decision'] === 'allow'),
      JSON.stringify(inbound),
    );
    const outbound = await until("the caller's audit records", 30_000, async () => {
      const recs = await auditLines(client, '"protocol":"h2"');
      return recs.length >= 2 ? recs : undefined;
    });
    assert.ok(
      outbound.some(
        (r) =>
          r['peer'] === idOf('echo') && r['decision'] === 'allow' && r['destination'] === `${NS}/echo:8080`,
      ),
      JSON.stringify(outbound),
    );
  });

  test('a caller the callee does not allow gets grpc-status 7 with the callee code', async () => {
    const intruder = await podOf('app=intruder');
    const out = await until('intruder -> echo answered', 120_000, async () => {
      const o = await call(intruder, 'echo:8080', 'steal');
      return o.startsWith('grpc-status=') ? o : undefined;
    });
    assert.match(out, /^grpc-status=7 ACP_ERR_PEER_NOT_ALLOWED\b/);
  });

  test('a name the caller may not reach: the CONNECT is refused with 403 and the code', async () => {
    assert.equal(await call(client, 'ledger:8080', 'x'), 'CONNECT 403 ACP_ERR_EGRESS_DENIED');
  });
});
