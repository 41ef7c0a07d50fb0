// HTTP/2 and gRPC through the sidecar on the real node: an app that speaks
// gRPC over h2c on loopback (a few lines of node:http2 in the product image,
// gRPC framing by hand), injected by the webhook with a policy whose
// upstream protocol is H2C; a @grpc/grpc-js client on the host calls it over
// mTLS with the caller's workload certificate (the server identity checked
// by its SPIFFE ID): unary and bidirectional streaming relayed with the
// caller's identity and the token's subject, a call without a token refused
// as gRPC UNAUTHENTICATED with the ACP code, a public method needing none;
// and curl --http2 to an HTTP/1.1 app negotiating h2 with its sidecar.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { useCluster, type TestCluster } from '../../harness/cluster.ts';
import {
  applyJson,
  deployApp,
  deployShop,
  installChart,
  ISSUER,
  must,
  readyPods,
  testIssuer,
  writeClientIdentity,
  type PodInfo,
} from '../../harness/node/product.ts';
import { ECHO, type EchoClient, type UnaryResult } from '../grpc-support.ts';

const image = process.env['ACP_TEST_IMAGE'] ?? '';
const NS = 'grpc-shop';
const TRUST = 'cluster.local';
const idOf = (sa: string): string => `spiffe://${TRUST}/ns/${NS}/sa/${sa}`;

/**
 * A gRPC service over h2c on 127.0.0.1:8080, framing by hand: every message
 * is answered as it arrives with `<method> caller=<x-acp-peer-id>
 * sub=<x-acp-jwt-sub>: <message>`; the stream ends with grpc-status 0.
 */
const GRPC_APP_JS = `
const h2 = require('http2');
const server = h2.createServer();
server.on('stream', (st, h) => {
  const method = String(h[':path']).split('/').pop();
  const who = ' caller=' + (h['x-acp-peer-id'] || '-') + ' sub=' + (h['x-acp-jwt-sub'] || '-') + ': ';
  st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': '0' }));
  let buf = Buffer.alloc(0);
  st.on('data', (c) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const n = buf.readUInt32BE(1);
      const msg = Buffer.from(method + who + buf.subarray(5, 5 + n).toString());
      buf = buf.subarray(5 + n);
      const out = Buffer.alloc(5 + msg.length);
      out.writeUInt32BE(msg.length, 1);
      msg.copy(out, 5);
      st.write(out);
    }
  });
  st.on('end', () => st.end());
});
server.listen(8080, '127.0.0.1');
`.trim();

function echoPolicy(jwk: object): object {
  return {
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name: 'echo', namespace: NS },
    spec: {
      selector: { matchLabels: { app: 'echo' } },
      upstream: { port: 8080, protocol: 'H2C' },
      mtls: { mode: 'Strict', allowedPeers: [{ namespace: NS, serviceAccount: 'checkout' }] },
      jwt: {
        providers: [
          {
            name: 'corp',
            issuer: ISSUER,
            audiences: ['payments'],
            jwks: { keys: [jwk] },
            algorithms: ['ES256'],
            forwardClaims: [{ claim: 'sub', header: 'x-acp-jwt-sub' }],
          },
        ],
        rules: [
          { paths: ['/acp.test.Echo/Public'], public: true },
          { paths: ['/acp.test.Echo/*'], requiredScopes: ['payments:read'] },
        ],
      },
      audit: { enabled: true },
    },
  };
}

let cluster: TestCluster;
let dir: string;
let token: string;
let echo: PodInfo;
let payments: PodInfo;
let client: EchoClient;

/** A gRPC client to the pod's sidecar with checkout's workload certificate; the server must prove echo's SPIFFE ID. */
function podClient(ip: string): EchoClient {
  const Ctor = grpc.makeGenericClientConstructor(ECHO, 'Echo');
  return new Ctor(
    `${ip}:8443`,
    grpc.credentials.createSsl(
      readFileSync(join(dir, 'ca.crt')),
      readFileSync(join(dir, 'checkout.key')),
      readFileSync(join(dir, 'checkout.crt')),
      {
        // workload certificates carry a SPIFFE ID, no DNS name: check that instead of the host
        checkServerIdentity: (_host, cert) =>
          cert.subjectaltname === `URI:${idOf('echo')}`
            ? undefined
            : new Error(`server identity ${cert.subjectaltname}, want ${idOf('echo')}`),
      },
    ),
  ) as EchoClient;
}

function unaryCall(method: 'Unary' | 'Public', msg: string, md: Record<string, string> = {}) {
  const meta = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) meta.set(k, v);
  return new Promise<UnaryResult>((done) =>
    (client[method] as (...a: unknown[]) => void)(
      Buffer.from(msg),
      meta,
      { deadline: Date.now() + 20_000 },
      (error: grpc.ServiceError | null, value?: Buffer) => done({ value, error: error ?? undefined }),
    ),
  );
}

describe('HTTP/2 and gRPC through the sidecar on the real node', { timeout: 600_000 }, () => {
  before(async () => {
    assert.ok(image, 'ACP_TEST_IMAGE is set by the test command');
    cluster = await useCluster();
    dir = mkdtempSync(join(tmpdir(), 'acp-grpc-node-'));
    const issuer = testIssuer();
    token = await issuer.sign('payments:read');
    await installChart(cluster, image);
    payments = await deployShop(cluster, NS, image, issuer.jwk);
    await must(cluster, ['create', 'serviceaccount', 'echo', '-n', NS]);
    await applyJson(cluster, echoPolicy(issuer.jwk));
    await deployApp(cluster, {
      namespace: NS,
      name: 'echo',
      serviceAccount: 'echo',
      labels: { app: 'echo' },
      image,
      js: GRPC_APP_JS,
    });
    [echo] = (await readyPods(cluster, NS, 'app=echo')) as [PodInfo];
    await writeClientIdentity(cluster, NS, 'checkout', dir);
    client = podClient(echo.ip);
  });
  after(async () => {
    client?.close();
    if (cluster) await must(cluster, ['delete', 'namespace', NS, '--wait=false']);
  });

  test('a unary call reaches the h2c app with the caller’s SPIFFE ID and the token’s subject', async () => {
    const r = await unaryCall('Unary', 'hello', { authorization: `Bearer ${token}` });
    assert.equal(r.error, undefined, r.error?.message);
    assert.match(String(r.value), new RegExp(`^Unary caller=${idOf('checkout')} sub=\\S+: hello$`));
    assert.doesNotMatch(String(r.value), /sub=-:/, 'the subject of the verified token is forwarded');
  });

  test('a call without a token is refused as gRPC UNAUTHENTICATED with the ACP code; a public method needs none', async () => {
    const r = await unaryCall('Unary', 'no token');
    assert.equal(r.error?.code, grpc.status.UNAUTHENTICATED, r.error?.message);
    assert.match(String(r.error?.metadata.get('x-acp-error')[0] ?? r.error?.details), /ACP_ERR_JWT/);
    const open = await unaryCall('Public', 'no token needed');
    assert.equal(open.error, undefined, open.error?.message);
    assert.match(String(open.value), /^Public caller=.* sub=-: no token needed$/);
  });

  test('a bidirectional stream is relayed message by message', async () => {
    const meta = new grpc.Metadata();
    meta.set('authorization', `Bearer ${token}`);
    const call = (client['Chat'] as (m: grpc.Metadata) => grpc.ClientDuplexStream<Buffer, Buffer>)(meta);
    const got: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (b: Buffer) => {
        got.push(b.toString());
        if (got.length < 3) call.write(Buffer.from(`m${got.length + 1}`));
        else call.end();
      });
      call.on('error', reject);
      call.on('status', (s: grpc.StatusObject) =>
        s.code === grpc.status.OK ? resolve() : reject(new Error(s.details)),
      );
    });
    call.write(Buffer.from('m1'));
    await done;
    assert.deepEqual(
      got.map((g) => g.replace(/ caller=.*: /, ' ')),
      ['Chat m1', 'Chat m2', 'Chat m3'],
      'each answer arrived before the next message was sent',
    );
  });

  test('curl --http2 to an HTTP/1.1 app negotiates h2 with its sidecar', () => {
    const r = spawnSync(
      'curl',
      [
        '-sS',
        '--http2',
        '--cacert',
        join(dir, 'ca.crt'),
        '--cert',
        join(dir, 'checkout.crt'),
        '--key',
        join(dir, 'checkout.key'),
        // the sidecar's certificate names no host: connect to the pod IP, check the chain
        '--resolve',
        `payments:8443:${payments.ip}`,
        '-k',
        '-H',
        `authorization: Bearer ${token}`,
        '-w',
        '\n%{http_version} %{http_code}',
        'https://payments:8443/v1/orders',
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.pop(), '2 200', r.stdout);
    assert.match(lines.join('\n'), new RegExp(`^GET /v1/orders caller=${idOf('checkout')} sub=`));
  });
});
