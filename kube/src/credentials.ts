// The credentials of a Connection as they are NOW: the bearer token (from
// the kubeconfig, a token file the kubelet rotates, or an exec plugin),
// basic auth, the client certificate and key (data, files, or the exec
// plugin) and the CA to trust. Files are read again every recheckMs, an
// exec plugin runs again when its credential is about to expire, and
// reload() (after a 401) reads and runs everything again at once. A bad new
// file (empty token, half-written certificate, a certificate and key that
// do not match) keeps the last good material and is reported through
// onProblem; only the first load fails outright. The TLS part keeps its
// object identity while unchanged, so the client rebuilds its connection
// pool only when it really changed.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile as readFileAsync } from 'node:fs/promises';
import { AcpError, errorMessage } from '@acp/crds';
import type { Clock } from './clock.ts';
import { runExecPlugin, type ExecCredential, type ExecRunner } from './exec.ts';
import type { Connection } from './kubeconfig.ts';

export interface TlsMaterial {
  /** PEM. */
  ca?: string;
  cert?: string;
  key?: string;
}

export interface Material {
  /** The Authorization header, if any. */
  authorization?: string;
  impersonate?: string;
  tls: TlsMaterial;
}

export interface CredentialOptions {
  clock: Clock;
  readFile?: (path: string) => Promise<string>;
  runExec?: ExecRunner;
  /** Credential files are read again at most this often (default 10 s). */
  recheckMs?: number;
  /** An exec credential is renewed this long before it expires (default 10 s). */
  renewBeforeMs?: number;
  /** Forced reloads (401s) closer together than this reuse the last one (default 1 s). */
  minReloadMs?: number;
  /** A new file or plugin answer was refused; the last good material stays in use. */
  onProblem?: (message: string) => void;
}

const fail = (message: string): AcpError => new AcpError('ACP_ERR_KUBE_CREDENTIALS', message);

function checkPair(cert: string, key: string, what: string): void {
  let ok: boolean;
  try {
    ok = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (e) {
    throw fail(`${what}: not a PEM certificate and key (${errorMessage(e)})`);
  }
  if (!ok) throw fail(`${what}: the client certificate does not match its key`);
}

function checkCa(ca: string, what: string): void {
  try {
    new X509Certificate(ca);
  } catch (e) {
    throw fail(`${what}: not a PEM certificate (${errorMessage(e)})`);
  }
}

const sameTls = (a: TlsMaterial, b: TlsMaterial): boolean =>
  a.ca === b.ca && a.cert === b.cert && a.key === b.key;

export class Credentials {
  private readonly conn: Connection;
  private readonly o: Required<Omit<CredentialOptions, 'onProblem'>> & Pick<CredentialOptions, 'onProblem'>;
  private material: Material | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private forcedAt = Number.NEGATIVE_INFINITY;
  /** After a failed read, the last good material is used without retrying until then. */
  private holdUntil = Number.NEGATIVE_INFINITY;
  private exec: ExecCredential | undefined;
  private loading: Promise<Material> | undefined;
  private readonly hasFiles: boolean;

  constructor(conn: Connection, opts: CredentialOptions) {
    this.conn = conn;
    this.o = {
      readFile: (p) => readFileAsync(p, 'utf8'),
      runExec: runExecPlugin(),
      recheckMs: 10_000,
      renewBeforeMs: 10_000,
      minReloadMs: 1000,
      ...opts,
    };
    const a = conn.auth;
    this.hasFiles = Boolean(conn.cluster.caFile ?? a.tokenFile ?? a.certFile ?? a.keyFile);
  }

  private now(): number {
    return this.o.clock.now().getTime();
  }

  private execDue(now: number): boolean {
    if (!this.conn.auth.exec) return false;
    const at = this.exec?.expiresAt;
    return !this.exec || (at !== undefined && now >= at - this.o.renewBeforeMs);
  }

  private stale(now: number): boolean {
    if (now < this.holdUntil) return false;
    return this.execDue(now) || (this.hasFiles && now - this.readAt >= this.o.recheckMs);
  }

  /** The material to use for a request now. */
  async current(): Promise<Material> {
    if (this.material && !this.stale(this.now())) return this.material;
    return this.load(false);
  }

  /**
   * The apiserver answered 401 to a request made with `used`: reads every
   * file and runs the exec plugin again (once, however many requests saw
   * the 401 at the same time), and returns what to retry with.
   */
  async reload(used: Material): Promise<Material> {
    if (this.loading) return this.loading;
    if (this.material !== used || this.now() - this.forcedAt < this.o.minReloadMs) return this.current();
    this.forcedAt = this.now();
    return this.load(true);
  }

  private load(force: boolean): Promise<Material> {
    this.loading ??= this.read(force).finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async read(force: boolean): Promise<Material> {
    try {
      const next = await this.build(force);
      this.readAt = this.now();
      const prev = this.material;
      if (prev && sameTls(prev.tls, next.tls)) next.tls = prev.tls;
      if (
        !prev ||
        prev.tls !== next.tls ||
        prev.authorization !== next.authorization ||
        prev.impersonate !== next.impersonate
      )
        this.material = next;
      return this.material ?? next;
    } catch (e) {
      if (!this.material) throw e;
      this.holdUntil = this.now() + Math.min(this.o.recheckMs, 5000);
      this.o.onProblem?.(`${this.conn.source}: ${errorMessage(e)}; keeping the last good credentials`);
      return this.material;
    }
  }

  private async file(path: string): Promise<string> {
    try {
      return await this.o.readFile(path);
    } catch (e) {
      throw fail(`cannot read ${path}: ${errorMessage(e)}`);
    }
  }

  private async build(force: boolean): Promise<Material> {
    const { auth, cluster } = this.conn;
    const tls: TlsMaterial = {};
    const ca = cluster.caData ?? (cluster.caFile ? await this.file(cluster.caFile) : undefined);
    if (ca !== undefined) {
      checkCa(ca, cluster.caFile ?? 'certificate-authority-data');
      tls.ca = ca;
    }
    if (auth.exec && (force || this.execDue(this.now()))) {
      this.exec = await this.o.runExec(auth.exec, cluster);
    }
    const pair = await this.clientCertificate();
    if (pair) Object.assign(tls, pair);
    const m: Material = { tls };
    const token = await this.token();
    if (token !== undefined) m.authorization = `Bearer ${token}`;
    else if (auth.username !== undefined)
      m.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
    if (auth.impersonate) m.impersonate = auth.impersonate;
    return m;
  }

  /** The client certificate and key: from the exec plugin, the kubeconfig's data, or files (checked to match). */
  private async clientCertificate(): Promise<{ cert: string; key: string } | undefined> {
    const { auth } = this.conn;
    const cert =
      this.exec?.clientCertificateData ??
      auth.certData ??
      (auth.certFile ? await this.file(auth.certFile) : undefined);
    const key =
      this.exec?.clientKeyData ?? auth.keyData ?? (auth.keyFile ? await this.file(auth.keyFile) : undefined);
    if (cert === undefined && key === undefined) return undefined;
    if (cert === undefined || key === undefined)
      throw fail('a client certificate needs both the certificate and the key');
    checkPair(cert, key, auth.certFile ?? 'client-certificate');
    return { cert, key };
  }

  private async token(): Promise<string | undefined> {
    const { auth } = this.conn;
    if (auth.tokenFile) {
      const t = (await this.file(auth.tokenFile)).trim();
      if (!t) throw fail(`the token file ${auth.tokenFile} is empty`);
      return t;
    }
    return auth.token ?? this.exec?.token;
  }
}
