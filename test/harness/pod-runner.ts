// A local stand-in for kubelet, for end-to-end tests and the demo: runs the
// acp-sidecar container of an injected pod as a local process. It reads
// the pod the real webhook admitted, writes the sidecar's volumes from the
// real Secrets and ConfigMaps the way kubelet does (a timestamped
// directory, a `..data` symlink swapped atomically, file symlinks through
// it), keeps them in sync while the pod runs, and starts the sidecar with
// the container's arguments (mount paths mapped to those directories).
// Ports: without network namespaces every local "pod" shares 127.0.0.1,
// so the runner maps the sidecar's listener ports (like a container port
// mapping) in the sidecar.json it writes; everything else in the file is
// the operator's compiled configuration, byte for byte.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../operator/src/kube/client.ts';
import type { TestCluster } from './cluster.ts';

type Obj = Record<string, any>;

export interface PortMap {
  inbound: number;
  admin: number;
  outbound: number;
}

export interface RunningPod {
  dir: string;
  ports: PortMap;
  process: ChildProcess;
  logs: () => string;
  /** Resolves after the volumes were refreshed from the API once more (a sync round). */
  syncNow: () => Promise<void>;
  stop: () => Promise<void>;
}

const root = join(import.meta.dirname, '..', '..');

/** The files of one volume source (Secret or ConfigMap, with items), decoded. */
function sourceFiles(
  obj: Obj | undefined,
  items: { key: string; path: string }[] | undefined,
  isSecret: boolean,
): Map<string, string> | undefined {
  if (!obj) return undefined;
  const data = (obj['data'] ?? {}) as Record<string, string>;
  const decode = (v: string): string => (isSecret ? Buffer.from(v, 'base64').toString('utf8') : v);
  const out = new Map<string, string>();
  if (items) {
    for (const it of items) {
      const v = data[it.key];
      if (v === undefined) return undefined;
      out.set(it.path, decode(v));
    }
  } else {
    for (const [k, v] of Object.entries(data)) out.set(k, decode(v));
  }
  return out;
}

/** Writes files the way kubelet's atomic writer does and swaps ..data in one rename. */
export function atomicWrite(dir: string, files: Map<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  mkdirSync(join(dir, stamp));
  for (const [name, content] of files) writeFileSync(join(dir, stamp, name), content, { mode: 0o600 });
  const tmpLink = join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(stamp, tmpLink);
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(dir, '..data'));
  } catch {
    previous = undefined;
  }
  renameSync(tmpLink, join(dir, '..data'));
  for (const name of files.keys()) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // already linked through ..data
    }
  }
  if (previous && previous !== stamp) rmSync(join(dir, previous), { recursive: true, force: true });
}

interface VolumePlan {
  name: string;
  mountPath: string;
  dir: string;
  sources: { kind: 'secret' | 'configMap'; name: string; items?: { key: string; path: string }[] }[];
}

function plans(pod: Obj, container: Obj, base: string): VolumePlan[] {
  const volumes = (pod['spec']['volumes'] ?? []) as Obj[];
  return ((container['volumeMounts'] ?? []) as Obj[]).flatMap((m) => {
    const v = volumes.find((x) => x['name'] === m['name']);
    if (!v) return [];
    const sources: VolumePlan['sources'] = [];
    const projected = (v['projected']?.['sources'] ?? []) as Obj[];
    // The ServiceAccount token volume (kube-api-access-*): the sidecar does not use the API.
    if (projected.some((s) => s['serviceAccountToken'])) return [];
    for (const s of projected) {
      if (s['secret'])
        sources.push({ kind: 'secret', name: s['secret']['name'], items: s['secret']['items'] });
      if (s['configMap'])
        sources.push({ kind: 'configMap', name: s['configMap']['name'], items: s['configMap']['items'] });
    }
    if (v['secret'])
      sources.push({ kind: 'secret', name: v['secret']['secretName'], items: v['secret']['items'] });
    if (v['configMap'])
      sources.push({ kind: 'configMap', name: v['configMap']['name'], items: v['configMap']['items'] });
    return sources.length
      ? [
          {
            name: String(m['name']),
            mountPath: String(m['mountPath']),
            dir: join(base, String(m['name'])),
            sources,
          },
        ]
      : [];
  });
}

function mapPorts(files: Map<string, string>, ports: PortMap): Map<string, string> {
  const out = new Map(files);
  const json = out.get('sidecar.json');
  if (json) {
    const cfg = JSON.parse(json) as Obj;
    cfg['listeners'] = { inboundPort: ports.inbound, adminPort: ports.admin, outboundPort: ports.outbound };
    out.set('sidecar.json', JSON.stringify(cfg, null, 2));
  }
  return out;
}

export interface RunOptions {
  /** How often the volumes are refreshed from the API (kubelet's sync period; default 1 s). */
  syncMs?: number;
  env?: Record<string, string>;
  /** Also append the sidecar's output (audit records, logs) to this file. */
  logFile?: string;
}

export async function runInjectedPod(
  cluster: TestCluster,
  namespace: string,
  podName: string,
  ports: PortMap,
  opts: RunOptions = {},
): Promise<RunningPod> {
  const client = await KubeClient.fromKubeConfig(cluster.kc);
  const get = (path: string): Promise<Obj | undefined> => client.find<Obj>(path);
  const pod = await get(`/api/v1/namespaces/${namespace}/pods/${podName}`);
  if (!pod) throw new Error(`pod ${namespace}/${podName} not found`);
  const container = ((pod['spec']['initContainers'] ?? []) as Obj[]).find((c) => c['name'] === 'acp-sidecar');
  if (!container) throw new Error(`pod ${namespace}/${podName} has no acp-sidecar: it was not injected`);
  const base = mkdtempSync(join(tmpdir(), `acp-pod-${podName}-`));
  const vols = plans(pod, container, base);
  const last = new Map<string, string>();

  let missing: string[] = [];
  const sync = async (): Promise<boolean> => {
    let complete = true;
    missing = [];
    for (const v of vols) {
      const files = new Map<string, string>();
      for (const s of v.sources) {
        const obj = await get(
          `/api/v1/namespaces/${namespace}/${s.kind === 'secret' ? 'secrets' : 'configmaps'}/${s.name}`,
        );
        const f = sourceFiles(obj, s.items, s.kind === 'secret');
        if (!f) {
          complete = false;
          missing.push(`${s.kind} ${s.name}`);
        } else for (const [k, val] of f) files.set(k, val);
      }
      if (files.size === 0) continue;
      const mapped = mapPorts(files, ports);
      const fingerprint = JSON.stringify([...mapped]);
      if (last.get(v.name) !== fingerprint) {
        atomicWrite(v.dir, mapped);
        last.set(v.name, fingerprint);
      }
    }
    return complete;
  };
  // Like kubelet, the container starts only once every volume can be mounted.
  for (let i = 0; !(await sync()); i++) {
    if (i > 300)
      throw new Error(`volumes of ${podName} never became available: missing ${missing.join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const mapPath = (arg: string): string => {
    for (const v of vols) if (arg.startsWith(v.mountPath)) return v.dir + arg.slice(v.mountPath.length);
    return arg.replace(/=(\/[^\s]*)/, (_m: string, p: string) => `=${mapPath(p)}`);
  };
  const args = [
    ...((container['command'] ?? []) as string[]).slice(1),
    ...((container['args'] ?? []) as string[]),
  ].map(mapPath);
  const script = args.findIndex((a) => /sidecar\/src\/main\.[jt]s$/.test(a));
  const sidecarArgs = script >= 0 ? args.slice(script + 1) : args;
  const nodeFlags = script >= 0 ? args.slice(0, script) : [];
  const env = Object.fromEntries(
    ((container['env'] ?? []) as Obj[])
      .filter((e) => typeof e['value'] === 'string')
      .map((e) => [e['name'], e['value']]),
  );
  const proc = spawn(
    process.execPath,
    [...nodeFlags, join(root, 'sidecar', 'src', 'main.ts'), ...sidecarArgs, '--host', '127.0.0.1'],
    {
      env: { ...process.env, ...env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const record = (c: string): void => {
    output = (output + c).slice(-1_000_000);
    if (opts.logFile) appendFileSync(opts.logFile, c);
  };
  proc.stdout?.setEncoding('utf8').on('data', record);
  proc.stderr?.setEncoding('utf8').on('data', record);
  let stopped = false;
  let syncing: Promise<void> = Promise.resolve();
  const loop = setInterval(() => {
    syncing = sync().then(
      () => undefined,
      () => undefined,
    );
  }, opts.syncMs ?? 1000);
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${ports.admin}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (proc.exitCode !== null || i > 300) {
      clearInterval(loop);
      proc.kill('SIGKILL');
      await client.close();
      throw new Error(`the sidecar of ${podName} did not become ready:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    dir: base,
    ports,
    process: proc,
    logs: () => output,
    syncNow: async () => {
      await syncing;
      await sync();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(loop);
      proc.kill('SIGTERM');
      await exited;
      await syncing;
      await client.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
