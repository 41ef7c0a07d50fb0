// ServiceAccount tokens that rotate, the way the kubelet rotates a pod's
// projected token: a token bound (TokenRequest boundObjectRef) to a Pod
// object, written to a file a kubeconfig names with tokenFile. rotate()
// binds a new token to a new Pod, writes it over the file (rename, as the
// kubelet's atomic writer does) and deletes the old Pod, so the old token
// stops working. On the apiserver-only control plane the Pods stay
// Pending, which is all binding needs.
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl, type TestCluster } from './cluster.ts';

export interface RotatingToken {
  kubeconfig: string;
  tokenFile: string;
  /** The token in the file now. */
  token: string;
  /** Binds a new token to a new Pod, writes it to the file, deletes the old Pod; returns the old token. */
  rotate(): Promise<string>;
}

async function must(cluster: TestCluster, args: string[], input?: string): Promise<string> {
  const r = await kubectl(cluster, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Writes a kubeconfig for the test cluster whose user is `user` (YAML lines under `user:`). */
export function writeKubeconfig(cluster: TestCluster, name: string, user: string[]): string {
  const cur = cluster.kc.getCurrentCluster();
  const file = join(mkdtempSync(join(tmpdir(), 'acp-kubeconfig-')), 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: test',
      '  cluster:',
      `    server: ${cur?.server ?? cluster.server}`,
      `    certificate-authority-data: ${cur?.caData ?? ''}`,
      'users:',
      `- name: ${name}`,
      '  user:',
      ...user.map((l) => `    ${l}`),
      'contexts:',
      '- name: test',
      `  context: {cluster: test, user: ${name}}`,
      'current-context: test',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

/** The HTTP status the apiserver answers GET /api with for `token` (401 once it is no longer valid). */
export function tokenStatus(cluster: TestCluster, token: string): Promise<number> {
  const cur = cluster.kc.getCurrentCluster();
  const ca = Buffer.from(cur?.caData ?? '', 'base64');
  return new Promise((resolve, reject) => {
    const req = request(
      `${cur?.server ?? cluster.server}/api`,
      { ca, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export async function podBoundToken(
  cluster: TestCluster,
  namespace: string,
  serviceAccount: string,
): Promise<RotatingToken> {
  const dir = mkdtempSync(join(tmpdir(), 'acp-token-'));
  const tokenFile = join(dir, 'token');
  let pod = '';
  const mint = async (): Promise<{ pod: string; token: string }> => {
    const name = `${serviceAccount}-token-${randomBytes(3).toString('hex')}`;
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: {
        serviceAccountName: serviceAccount,
        automountServiceAccountToken: false,
        containers: [{ name: 'holder', image: 'registry.invalid/never-runs:0' }],
      },
    };
    await must(cluster, ['create', '-f', '-'], JSON.stringify(manifest));
    const token = (
      await must(cluster, [
        'create',
        'token',
        serviceAccount,
        '-n',
        namespace,
        '--bound-object-kind=Pod',
        `--bound-object-name=${name}`,
        '--duration=1h',
      ])
    ).trim();
    const tmp = join(dir, `.token-${name}`);
    writeFileSync(tmp, token, { mode: 0o600 });
    renameSync(tmp, tokenFile);
    return { pod: name, token };
  };
  const first = await mint();
  pod = first.pod;
  const handle: RotatingToken = {
    kubeconfig: writeKubeconfig(cluster, serviceAccount, [`tokenFile: ${tokenFile}`]),
    tokenFile,
    token: first.token,
    async rotate() {
      const old = { pod, token: handle.token };
      const next = await mint();
      pod = next.pod;
      handle.token = next.token;
      await must(cluster, ['delete', 'pod', old.pod, '-n', namespace, '--wait=true']);
      return old.token;
    },
  };
  return handle;
}
