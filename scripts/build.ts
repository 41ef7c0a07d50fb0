// The production build (`npm run build`): writes plain JavaScript for the
// runtime packages (crds, operator, webhooks, sidecar) into dist/, so
// production runs `node dist/<pkg>/src/main.js` without Node's TypeScript
// stripper (a WASM module that costs ~20 MB of RSS for the life of the
// process). Starting from each package's `bin` and `exports` entries, it
// follows the value imports: every reached .ts file is stripped with
// node:module's stripTypeScriptTypes (mode "strip": types become blanks,
// so line and column numbers in stack traces stay those of the .ts source
// and no source map is needed), relative `.ts` specifiers become `.js`,
// `@acp/*` specifiers become relative paths into dist/, imported .cjs/.js
// files (the generated validators) are copied, and so are directories a
// module reads through `new URL('../dir/...', import.meta.url)`. Test
// files are never reached. Usage: node scripts/build.ts [--out DIR]
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
export const RUNTIME_PACKAGES = ['crds', 'pki', 'kube', 'operator', 'webhooks', 'sidecar'] as const;

interface PackageJson {
  name: string;
  exports?: Record<string, string>;
  bin?: Record<string, string>;
  scripts?: Record<string, string>;
}

export interface BuildResult {
  out: string;
  files: number;
  bytes: number;
}

/** Static `import`/`export ... from` (line-initial, as prettier writes them) and dynamic `import('...')`. */
const STATIC_IMPORT = /^(?:import|export)\b[^;]*?\bfrom\s*'([^']+)'|^import\s*'([^']+)'/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*'([^']+)'\s*\)/g;
const URL_ASSET = /new URL\(\s*[`'"](\.\.?\/[^`'"$]*\/)/g;

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as PackageJson;
}

/** `@acp/<pkg>[/sub]` -> absolute source file, from the workspace package's exports map. */
function workspaceResolver(): (spec: string) => string | undefined {
  const map = new Map<string, string>();
  for (const dir of RUNTIME_PACKAGES) {
    const pkg = readPackage(dir);
    for (const [key, target] of Object.entries(pkg.exports ?? {})) {
      map.set(key === '.' ? pkg.name : `${pkg.name}${key.slice(1)}`, join(ROOT, dir, target));
    }
  }
  return (spec) => map.get(spec);
}

/**
 * The entry points: the file `npm start` runs and every bin and export of
 * the runtime packages that exists (test fixtures under testdata/ and test doubles under testing/ excluded).
 */
function entryPoints(): string[] {
  const out: string[] = [];
  for (const dir of RUNTIME_PACKAGES) {
    const pkg = readPackage(dir);
    const start = /^node\s+(\S+\.ts)\b/.exec(pkg.scripts?.['start'] ?? '')?.[1];
    const targets = [...Object.values(pkg.exports ?? {}), ...Object.values(pkg.bin ?? {})];
    for (const target of start ? [start, ...targets] : targets) {
      const file = join(ROOT, dir, target);
      if (!/(testdata|testing)\//.test(target) && existsSync(file)) out.push(file);
    }
  }
  return out;
}

function toJsPath(file: string): string {
  return file.endsWith('.ts') ? `${file.slice(0, -3)}.js` : file;
}

function relativeSpecifier(fromFile: string, toFile: string): string {
  const r = relative(dirname(fromFile), toFile).split(sep).join('/');
  return r.startsWith('.') ? r : `./${r}`;
}

export function build(out: string = join(ROOT, 'dist')): BuildResult {
  const resolveWorkspace = workspaceResolver();
  const outPath = (src: string): string => join(out, relative(ROOT, toJsPath(src)));
  // Only what this build writes: dist/image (the product image, `npm run image`) survives.
  for (const entry of [...RUNTIME_PACKAGES, 'package.json'])
    rmSync(join(out, entry), { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'package.json'), '{ "type": "module", "private": true }\n');
  const queue = entryPoints();
  const done = new Set<string>();
  let bytes = 0;
  const copy = (src: string, dest: string): void => {
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(src, dest, { recursive: true });
  };
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (done.has(file)) continue;
    done.add(file);
    if (!file.endsWith('.ts')) {
      copy(file, outPath(file));
      continue;
    }
    const target = outPath(file);
    const rewrite = (spec: string): string => {
      const source = spec.startsWith('.') ? resolve(dirname(file), spec) : resolveWorkspace(spec);
      if (source === undefined) return spec; // a dependency from node_modules
      queue.push(source);
      return spec.startsWith('.') ? toJsPath(spec) : relativeSpecifier(target, outPath(source));
    };
    const js = stripTypeScriptTypes(readFileSync(file, 'utf8'), { mode: 'strip' })
      .replace(STATIC_IMPORT, (m: string, a?: string, b?: string) => {
        const spec = a ?? b ?? '';
        return m.slice(0, m.lastIndexOf(spec)) + rewrite(spec) + m.slice(m.lastIndexOf(spec) + spec.length);
      })
      .replace(DYNAMIC_IMPORT, (_m: string, spec: string) => `import('${rewrite(spec)}')`);
    for (const m of js.matchAll(URL_ASSET)) {
      const dir = resolve(dirname(file), m[1] ?? '.');
      copy(dir, join(out, relative(ROOT, dir)));
    }
    if (/\bfrom\s*'\.[^']*\.ts'/.test(js)) throw new Error(`${file}: a .ts import was left in the output`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
    bytes += js.length;
  }
  return { out, files: done.size, bytes };
}

if (import.meta.main) {
  const i = process.argv.indexOf('--out');
  const t0 = performance.now();
  const r = build(i > 0 ? resolve(process.argv[i + 1] ?? 'dist') : undefined);
  process.stdout.write(
    `build: ${r.files} files (${(r.bytes / 1024).toFixed(0)} KiB of JavaScript) -> ${r.out} in ${(performance.now() - t0).toFixed(0)} ms\n`,
  );
}
