// Where the apiserver is and how to authenticate to it: a kubeconfig (one
// file or a KUBECONFIG list, merged like client-go: the first file to name
// a cluster, user or context wins) or the in-cluster ServiceAccount mount.
// Keeps the PATHS of credential files (token, client certificate and key,
// CA) and the exec plugin, not their contents, so credentials.ts can read
// them again when they rotate. Relative paths are relative to the
// kubeconfig that names them. Pure apart from reading the kubeconfig files.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { isIPv6 } from 'node:net';
import { parse } from 'yaml';
import { AcpError } from '@acp/crds';

export interface ClusterTrust {
  server: string;
  /** PEM, from certificate-authority-data. */
  caData?: string;
  /** certificate-authority (re-read when it changes). */
  caFile?: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
}

export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  provideClusterInfo: boolean;
}

/** How to authenticate; at most one of token/tokenFile/exec/basic is used (that order). */
export interface AuthSource {
  token?: string;
  tokenFile?: string;
  exec?: ExecConfig;
  username?: string;
  password?: string;
  /** PEM, from client-certificate-data / client-key-data. */
  certData?: string;
  keyData?: string;
  certFile?: string;
  keyFile?: string;
  /** Impersonate-User. */
  impersonate?: string;
}

export interface Connection {
  cluster: ClusterTrust;
  auth: AuthSource;
  /** The context's namespace (in-cluster: the pod's). */
  namespace?: string;
  /** Where this came from, for messages: a kubeconfig path or "in-cluster". */
  source: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const bad = (source: string, message: string): AcpError =>
  new AcpError('ACP_ERR_KUBECONFIG', `${source}: ${message}`, { source });

type Doc = Record<string, unknown>;
const isDoc = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const b64 = (v: unknown): string | undefined => {
  const s = str(v);
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
};

interface Named {
  name: string;
  body: Doc;
  dir: string;
}

/** name -> entry of one list (clusters, users, contexts) over every file; the first file wins. */
function merged(files: { path: string; doc: Doc }[], list: string, field: string): Map<string, Named> {
  const out = new Map<string, Named>();
  for (const { path, doc } of files) {
    for (const entry of Array.isArray(doc[list]) ? (doc[list] as unknown[]) : []) {
      if (!isDoc(entry)) continue;
      const name = str(entry['name']);
      if (name === undefined || out.has(name)) continue;
      out.set(name, { name, body: isDoc(entry[field]) ? entry[field] : {}, dir: dirname(path) });
    }
  }
  return out;
}

function execConfig(v: unknown, dir: string, source: string): ExecConfig | undefined {
  if (!isDoc(v)) return undefined;
  const command = str(v['command']);
  if (!command) throw bad(source, 'users[].user.exec.command is missing');
  return {
    apiVersion: str(v['apiVersion']) ?? 'client.authentication.k8s.io/v1',
    // a command with a slash is a path relative to the kubeconfig; a bare name is looked up in PATH
    command: command.includes('/') && !isAbsolute(command) ? resolve(dir, command) : command,
    args: Array.isArray(v['args']) ? v['args'].map(String) : [],
    env: Array.isArray(v['env'])
      ? v['env'].filter(isDoc).map((e) => ({ name: str(e['name']) ?? '', value: str(e['value']) ?? '' }))
      : [],
    provideClusterInfo: v['provideClusterInfo'] === true,
  };
}

function authOf(user: Named | undefined, source: string): AuthSource {
  if (!user) return {};
  const u = user.body;
  const file = (k: string): string | undefined => {
    const p = str(u[k]);
    return p === undefined ? undefined : resolve(user.dir, p);
  };
  if (u['auth-provider'] !== undefined)
    throw bad(source, `user ${user.name}: auth-provider is not supported (use an exec plugin)`);
  const auth: Record<keyof AuthSource, unknown> = {
    token: str(u['token']),
    // client-go spells it tokenFile; client-node wrote token-file
    tokenFile: file('tokenFile') ?? file('token-file'),
    exec: execConfig(u['exec'], user.dir, source),
    username: str(u['username']),
    password: str(u['password']),
    certData: b64(u['client-certificate-data']),
    keyData: b64(u['client-key-data']),
    certFile: file('client-certificate'),
    keyFile: file('client-key'),
    impersonate: str(u['as']),
  };
  return Object.fromEntries(Object.entries(auth).filter(([, v]) => v !== undefined));
}

/** The current (or named) context of kubeconfig documents, merged in order. */
export function parseKubeconfig(
  files: readonly { path: string; text: string }[],
  contextName?: string,
): Connection {
  const source = files.map((f) => f.path).join(':');
  const docs = files.map(({ path, text }) => {
    const doc = parse(text) as unknown;
    return { path, doc: isDoc(doc) ? doc : {} };
  });
  const current = contextName ?? docs.map((d) => str(d.doc['current-context'])).find(Boolean);
  if (!current) throw bad(source, 'no current-context');
  const context = merged(docs, 'contexts', 'context').get(current);
  if (!context) throw bad(source, `context ${current} does not exist`);
  const clusterName = str(context.body['cluster']) ?? '';
  const cluster = merged(docs, 'clusters', 'cluster').get(clusterName);
  const server = str(cluster?.body['server']);
  if (!cluster || !server) throw bad(source, `context ${current}: cluster ${clusterName} has no server`);
  const c = cluster.body;
  const caFile = str(c['certificate-authority']);
  const userName = str(context.body['user']);
  const trust: ClusterTrust = {
    server: server.replace(/\/$/, ''),
    skipTLSVerify: c['insecure-skip-tls-verify'] === true,
  };
  const caData = b64(c['certificate-authority-data']);
  if (caData) trust.caData = caData;
  else if (caFile) trust.caFile = resolve(cluster.dir, caFile);
  const tlsServerName = str(c['tls-server-name']);
  if (tlsServerName) trust.tlsServerName = tlsServerName;
  const namespace = str(context.body['namespace']);
  return {
    cluster: trust,
    auth: authOf(userName ? merged(docs, 'users', 'user').get(userName) : undefined, source),
    ...(namespace ? { namespace } : {}),
    source,
  };
}

/** The pod's ServiceAccount: the projected token file (rotated by the kubelet) and CA. */
export function inClusterConnection(
  env: Record<string, string | undefined>,
  dir = SERVICE_ACCOUNT_DIR,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Connection {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port)
    throw bad('in-cluster', 'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set');
  let namespace: string | undefined;
  try {
    namespace = readFile(join(dir, 'namespace')).trim() || undefined;
  } catch {
    namespace = undefined;
  }
  return {
    cluster: {
      server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
      caFile: join(dir, 'ca.crt'),
      skipTLSVerify: false,
    },
    auth: { tokenFile: join(dir, 'token') },
    ...(namespace ? { namespace } : {}),
    source: 'in-cluster',
  };
}

/**
 * The connection a process uses: the kubeconfig list given (a flag or
 * $KUBECONFIG), else the in-cluster ServiceAccount when running in a pod,
 * else ~/.kube/config.
 */
export function loadConnection(
  kubeconfig: string | undefined,
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Connection {
  const read = (paths: string[]): Connection =>
    parseKubeconfig(
      paths.map((path) => {
        try {
          return { path, text: readFile(path) };
        } catch (e) {
          throw bad(path, `cannot read: ${(e as Error).message}`);
        }
      }),
    );
  const list = (kubeconfig ?? '').split(':').filter(Boolean);
  if (list.length > 0) return read(list);
  if (env['KUBERNETES_SERVICE_HOST']) return inClusterConnection(env, SERVICE_ACCOUNT_DIR, readFile);
  return read([join(env['HOME'] ?? homedir(), '.kube', 'config')]);
}
