// Runs a kubeconfig exec credential plugin (client.authentication.k8s.io
// ExecCredential, non-interactive) and reads its answer: a bearer token or
// a client certificate and key, and when it expires. The plugin gets
// KUBERNETES_EXEC_INFO (with the cluster when provideClusterInfo is set),
// has a time limit and its stderr is kept for the error message.
import { execFile } from 'node:child_process';
import { AcpError } from '@acp/crds';
import type { ClusterTrust, ExecConfig } from './kubeconfig.ts';

export interface ExecCredential {
  token?: string;
  /** PEM. */
  clientCertificateData?: string;
  clientKeyData?: string;
  /** Epoch ms; undefined = valid until the apiserver says 401. */
  expiresAt?: number;
}

export type ExecRunner = (config: ExecConfig, cluster: ClusterTrust) => Promise<ExecCredential>;

const bad = (config: ExecConfig, message: string): AcpError =>
  new AcpError('ACP_ERR_KUBE_CREDENTIALS', `exec plugin ${config.command}: ${message}`, {
    command: config.command,
  });

/** The ExecCredential a plugin printed, checked. Pure. */
export function parseExecCredential(config: ExecConfig, stdout: string): ExecCredential {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw bad(config, 'printed something that is not JSON');
  }
  const d = doc as {
    apiVersion?: unknown;
    kind?: unknown;
    status?: {
      token?: unknown;
      clientCertificateData?: unknown;
      clientKeyData?: unknown;
      expirationTimestamp?: unknown;
    };
  };
  if (d.kind !== 'ExecCredential' || d.apiVersion !== config.apiVersion)
    throw bad(config, `did not print an ExecCredential of ${config.apiVersion}`);
  const s = d.status ?? {};
  const out: ExecCredential = {};
  if (typeof s.token === 'string' && s.token !== '') out.token = s.token;
  if (typeof s.clientCertificateData === 'string' && typeof s.clientKeyData === 'string') {
    out.clientCertificateData = s.clientCertificateData;
    out.clientKeyData = s.clientKeyData;
  }
  if (!out.token && !out.clientCertificateData)
    throw bad(config, 'printed neither a token nor a client certificate and key');
  if (typeof s.expirationTimestamp === 'string') {
    const at = Date.parse(s.expirationTimestamp);
    if (Number.isNaN(at)) throw bad(config, `expirationTimestamp "${s.expirationTimestamp}" is not a time`);
    out.expiresAt = at;
  }
  return out;
}

/** Runs the plugin as a child process (no shell), at most timeoutMs. */
export function runExecPlugin(timeoutMs = 30_000): ExecRunner {
  return (config, cluster) =>
    new Promise((resolve, reject) => {
      const info = {
        apiVersion: config.apiVersion,
        kind: 'ExecCredential',
        spec: {
          interactive: false,
          ...(config.provideClusterInfo
            ? {
                cluster: {
                  server: cluster.server,
                  ...(cluster.tlsServerName ? { 'tls-server-name': cluster.tlsServerName } : {}),
                  'insecure-skip-tls-verify': cluster.skipTLSVerify,
                  ...(cluster.caData
                    ? { 'certificate-authority-data': Buffer.from(cluster.caData).toString('base64') }
                    : {}),
                },
              }
            : {}),
        },
      };
      const env = {
        ...process.env,
        ...Object.fromEntries(config.env.map((e) => [e.name, e.value])),
        KUBERNETES_EXEC_INFO: JSON.stringify(info),
      };
      execFile(
        config.command,
        config.args,
        { env, timeout: timeoutMs, maxBuffer: 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) {
            reject(
              bad(config, `failed: ${error.message.split('\n')[0] ?? ''} ${stderr.slice(0, 500)}`.trim()),
            );
            return;
          }
          let credential: ExecCredential;
          try {
            credential = parseExecCredential(config, stdout);
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
            return;
          }
          resolve(credential);
        },
      );
    });
}
