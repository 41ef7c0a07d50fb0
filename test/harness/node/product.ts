// The product on a real node, as a user installs and uses it: `helm install`
// of the chart with the locally imported image, a namespace opted in for
// injection, policies, and small app Deployments run from the product image
// (Node is in it; the app is a few lines given with `node -e`). Shared by the
// real-node tests and `npm run demo`. Every wait is bounded and names what
// it waited for.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { readBundle, readIdentity } from '../../integration/identity-fixtures.ts';
import { helm, kubectl, type TestCluster } from '../cluster.ts';
import { eventually } from '../operator.ts';

export const RELEASE = 'acp';
export const RELEASE_NAMESPACE = 'acp-system';
export const CHART = resolve(import.meta.dirname, '..', '..', '..', 'charts', 'api-compliance-operator');

/** Polls `probe` every `everyMs` (errors count as not yet) until it returns a value; throws naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** kubectl that throws with its stderr on failure. */
export async function must(cluster: TestCluster, args: string[], input?: string): Promise<string> {
  const r = await kubectl(cluster, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The image reference split for the chart's image.repository / image.tag values. */
export function imageValues(image: string): string[] {
  const at = image.lastIndexOf(':');
  return [
    `image.repository=${image.slice(0, at)}`,
    `image.tag=${image.slice(at + 1)}`,
    'image.pullPolicy=Never',
  ];
}

/**
 * `helm install` as the README tells users, with the local image (as `upgrade
 * --install`, so a second caller on the same cluster finds the release in
 * place); waits until both Deployments are Available.
 */
export async function installChart(
  cluster: TestCluster,
  image: string,
  extra: string[] = [],
  chart: string = CHART,
): Promise<string> {
  const sets = [...imageValues(image), ...extra].flatMap((s) => ['--set', s]);
  const r = await helm(cluster, [
    'upgrade',
    '--install',
    RELEASE,
    chart,
    '-n',
    RELEASE_NAMESPACE,
    '--create-namespace',
    ...sets,
    '--wait',
    '--timeout',
    '5m',
  ]);
  if (r.code !== 0) throw new Error(`helm install failed: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/**
 * A tiny HTTP app on 127.0.0.1:8080 (only its sidecar can reach it): answers
 * `<method> <path> caller=<x-acp-peer-id> sub=<x-acp-jwt-sub>` and counts the
 * requests it received (GET /__count).
 */
export const APP_JS = `
let n = 0;
require('http').createServer((q, s) => {
  if (q.url === '/__count') return s.end(String(n));
  n++;
  s.setHeader('content-type', 'text/plain');
  s.end(q.method + ' ' + q.url + ' caller=' + (q.headers['x-acp-peer-id'] || '-') + ' sub=' + (q.headers['x-acp-jwt-sub'] || '-') + '\\n');
}).listen(8080, '127.0.0.1');
`.trim();

/** An app that only listens (a caller the test execs a client into; its port satisfies the policy). */
export const IDLE_JS = `require('http').createServer((q, r) => r.end('idle\\n')).listen(8080, '127.0.0.1');`;

/** Ready once the app listens (on loopback, so the kubelet cannot dial it itself): appDeployment's `container`. */
export const APP_LISTENING = {
  readinessProbe: {
    exec: {
      command: [
        'node',
        '-e',
        "require('net').connect(8080,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))",
      ],
    },
    periodSeconds: 2,
    timeoutSeconds: 5,
  },
};

/** An ApiCompliancePolicy document. */
export function policyDoc(namespace: string, name: string, spec: object): object {
  return {
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name, namespace },
    spec,
  };
}

/** The name of the first Ready pod matching `selector`. */
export async function readyPodName(
  cluster: TestCluster,
  namespace: string,
  selector: string,
): Promise<string> {
  const p = (await readyPods(cluster, namespace, selector))[0];
  if (!p) throw new Error(`no Ready pod ${selector} in ${namespace}`);
  return p.name;
}

export function appDeployment(opts: {
  namespace: string;
  name: string;
  serviceAccount: string;
  labels: Record<string, string>;
  image: string;
  replicas?: number;
  annotations?: Record<string, string>;
  /** The app's script (default APP_JS). */
  js?: string;
  /** Extra fields of the app container (a readinessProbe). */
  container?: Record<string, unknown>;
  /** Extra fields of the Deployment spec (a strategy). */
  deployment?: Record<string, unknown>;
}): string {
  return stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: opts.name, namespace: opts.namespace },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: opts.labels },
      ...opts.deployment,
      template: {
        metadata: { labels: opts.labels, annotations: opts.annotations ?? {} },
        spec: {
          serviceAccountName: opts.serviceAccount,
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'app',
              image: opts.image,
              imagePullPolicy: 'Never',
              command: ['node', '-e', opts.js ?? APP_JS],
              resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '96Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              ...opts.container,
            },
          ],
        },
      },
    },
  });
}

/** A namespace labelled for injection with the given ServiceAccounts. */
export async function injectedNamespace(
  cluster: TestCluster,
  name: string,
  serviceAccounts: string[],
): Promise<void> {
  await must(cluster, ['create', 'namespace', name]);
  await must(cluster, ['label', 'namespace', name, 'acp.dev/injection=enabled']);
  for (const sa of serviceAccounts) await must(cluster, ['create', 'serviceaccount', sa, '-n', name]);
}

export async function applyJson(cluster: TestCluster, doc: unknown): Promise<void> {
  // JSON, not YAML: kubectl reads YAML 1.1, where a JWK's bare `y` key would mean true.
  await must(cluster, ['apply', '-f', '-'], JSON.stringify(doc));
}

export interface PodInfo {
  name: string;
  ip: string;
  phase: string;
  ready: boolean;
  node: string;
  restarts: Record<string, number>;
  initContainers: string[];
}

export async function pods(cluster: TestCluster, namespace: string, selector: string): Promise<PodInfo[]> {
  const out = await must(cluster, ['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json']);
  const list = JSON.parse(out) as {
    items: {
      metadata: { name: string; deletionTimestamp?: string };
      spec: { nodeName?: string; initContainers?: { name: string }[] };
      status: {
        podIP?: string;
        phase?: string;
        conditions?: { type: string; status: string }[];
        containerStatuses?: { name: string; restartCount: number }[];
        initContainerStatuses?: { name: string; restartCount: number }[];
      };
    }[];
  };
  return list.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({
      name: p.metadata.name,
      ip: p.status.podIP ?? '',
      phase: p.status.phase ?? '',
      ready: p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      node: p.spec.nodeName ?? '',
      restarts: Object.fromEntries(
        [...(p.status.containerStatuses ?? []), ...(p.status.initContainerStatuses ?? [])].map((c) => [
          c.name,
          c.restartCount,
        ]),
      ),
      initContainers: (p.spec.initContainers ?? []).map((c) => c.name),
    }));
}

/** Waits until `count` pods match and all are Ready; returns them. */
export async function readyPods(
  cluster: TestCluster,
  namespace: string,
  selector: string,
  count = 1,
  timeoutMs = 180_000,
): Promise<PodInfo[]> {
  const deadline = Date.now() + timeoutMs;
  let last: PodInfo[];
  for (;;) {
    last = await pods(cluster, namespace, selector);
    if (last.length === count && last.every((p) => p.ready)) return last;
    if (Date.now() > deadline) {
      const describe = await kubectl(cluster, ['describe', 'pods', '-n', namespace, '-l', selector]);
      throw new Error(
        `pods ${selector} in ${namespace} not Ready after ${timeoutMs / 1000}s: ${JSON.stringify(last)}\n${describe.stdout.slice(-4000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `kubectl apply` of an app Deployment (see appDeployment). */
export async function deployApp(
  cluster: TestCluster,
  opts: Parameters<typeof appDeployment>[0],
): Promise<void> {
  await must(cluster, ['apply', '-f', '-'], appDeployment(opts));
}

/**
 * The callee's policy: Strict mTLS with `checkout` as the only peer, a JWT
 * provider with the given public JWK (kid and issuer fixed), /healthz public,
 * /v1/* needing scope payments:read, and any extra rules before that one.
 */
/**
 * The two-workload shop: `payments` under paymentsPolicy (Strict mTLS, JWT
 * with `jwk`) and its caller `checkout` (role=client, clientsPolicy), in a new
 * injected namespace; returns the Ready payments pod.
 */
export async function deployShop(
  cluster: TestCluster,
  namespace: string,
  image: string,
  jwk: object,
): Promise<PodInfo> {
  await injectedNamespace(cluster, namespace, ['payments', 'checkout']);
  await applyJson(cluster, paymentsPolicy(namespace, jwk));
  await applyJson(cluster, clientsPolicy(namespace));
  await deployApp(cluster, {
    namespace,
    name: 'payments',
    serviceAccount: 'payments',
    labels: { app: 'payments' },
    image,
  });
  await deployApp(cluster, {
    namespace,
    name: 'checkout',
    serviceAccount: 'checkout',
    labels: { app: 'checkout', role: 'client' },
    image,
  });
  const [payments] = await readyPods(cluster, namespace, 'app=payments');
  if (!payments) throw new Error(`no Ready payments pod in ${namespace}`);
  return payments;
}

export function paymentsPolicy(namespace: string, jwk: object, extraRules: object[] = []): object {
  return {
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name: 'payments', namespace },
    spec: {
      selector: { matchLabels: { app: 'payments' } },
      profiles: ['PCI-DSS-4.0'],
      upstream: { port: 8080 },
      mtls: { mode: 'Strict', allowedPeers: [{ namespace, serviceAccount: 'checkout' }] },
      jwt: {
        providers: [
          {
            name: 'corp',
            issuer: ISSUER,
            audiences: ['payments'],
            jwks: { keys: [jwk] },
            algorithms: ['ES256'],
            requiredClaims: ['exp', 'sub'],
            forwardClaims: [{ claim: 'sub', header: 'x-acp-jwt-sub' }],
          },
        ],
        rules: [
          { paths: ['/healthz'], public: true },
          ...extraRules,
          { paths: ['/v1/*'], requiredScopes: ['payments:read'] },
        ],
      },
      limits: { rateLimit: { requestsPerSecond: 50, burst: 100 } },
      audit: { enabled: true },
    },
  };
}

export const ISSUER = 'https://idp.test/';

/** The callers' policy (pods labelled role=client); with a Service IP, egress to payments' sidecar over mTLS. */
export function clientsPolicy(namespace: string, paymentsServiceIp?: string): object {
  return {
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name: 'clients', namespace },
    spec: {
      selector: { matchLabels: { role: 'client' } },
      upstream: { port: 8080 },
      ...(paymentsServiceIp
        ? {
            egress: {
              default: 'Deny',
              allow: [
                { host: paymentsServiceIp, port: 8443, peers: [{ namespace, serviceAccount: 'payments' }] },
              ],
            },
          }
        : {}),
    },
  };
}

/** A ClusterIP Service in front of payments' sidecar port; returns its IP (in 198.19.0.0/24). */
export async function paymentsService(cluster: TestCluster, namespace: string): Promise<string> {
  await applyJson(cluster, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'payments', namespace },
    spec: { selector: { app: 'payments' }, ports: [{ name: 'acp-tls', port: 8443, targetPort: 8443 }] },
  });
  return (
    await must(cluster, ['get', 'svc', 'payments', '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}'])
  ).trim();
}

/**
 * From inside a caller's app container (`kubectl exec ... -- node -e <this>`): GET
 * http://<serviceIp>:8443<path> through the caller's sidecar (its HTTP proxy on
 * 127.0.0.1:15001) with a bearer token; prints `<status> <body>`.
 */
export function proxiedGet(serviceIp: string, path: string, token: string): string {
  return (
    `require('http').get({host:'127.0.0.1',port:15001,path:'http://${serviceIp}:8443${path}',` +
    `headers:{host:'${serviceIp}:8443',authorization:'Bearer ${token}'}},r=>{let b='';r.on('data',c=>b+=c);` +
    `r.on('end',()=>console.log(r.statusCode,b.trim()))}).on('error',e=>console.log('error',e.message))`
  );
}

/** Writes a workload's identity (from the Secret the operator wrote) as dir/<name>.crt/.key and the bundle as dir/ca.crt. */
export async function writeClientIdentity(
  cluster: TestCluster,
  namespace: string,
  serviceAccount: string,
  dir: string,
  name = serviceAccount,
): Promise<string> {
  const id = await eventually(
    `the identity Secret of ${serviceAccount}`,
    () => readIdentity(cluster, namespace, serviceAccount),
    90_000,
  );
  writeFileSync(join(dir, `${name}.crt`), id.certPem);
  writeFileSync(join(dir, `${name}.key`), id.keyPem, { mode: 0o600 });
  writeFileSync(
    join(dir, 'ca.crt'),
    await eventually('the trust bundle', () => readBundle(cluster, namespace), 60_000),
  );
  return id.leaf.subjectAltName ?? '';
}

/**
 * A new ServiceAccount and a client Deployment using it, then waits until the
 * operator has issued its identity: shows the operator is issuing (after a
 * fault, an upgrade, a rollback).
 */
export async function newWorkloadIdentity(
  cluster: TestCluster,
  namespace: string,
  name: string,
  image: string,
): Promise<void> {
  await must(cluster, ['create', 'serviceaccount', name, '-n', namespace]);
  await deployApp(cluster, {
    namespace,
    name,
    serviceAccount: name,
    labels: { role: 'client', app: name },
    image,
  });
  await eventually(
    `an identity issued for ${namespace}/${name}`,
    () => readIdentity(cluster, namespace, name),
    120_000,
  );
}

/**
 * The test identity provider of paymentsPolicy: a fresh P-256 key, its public
 * JWK (kid k1) for the policy, and tokens for subject alice, audience payments.
 */
export function testIssuer(): { jwk: object; sign: (scope: string, expiresIn?: string) => Promise<string> } {
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    jwk: { ...keys.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' },
    sign: (scope, expiresIn = '1h') =>
      new SignJWT({ scope })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience('payments')
        .setSubject('alice')
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(keys.privateKey),
  };
}
