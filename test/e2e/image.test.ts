// The product image (`npm run image`), built for real twice: the same
// inputs give the same digest; the archive is a valid OCI layout whose
// config runs as 65532 with the OCI labels; the root file system holds Node
// and its libraries, the built JavaScript and production dependencies only
// (no shell, no package manager, no TypeScript sources, no dev dependency);
// Node runs the CLI from it as user 65532 in a chroot; the SBOM lists what
// is inside.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildImage, type ImageResult } from '../../scripts/image.ts';

describe('npm run image', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'acp-image-test-'));
  let first: ImageResult;
  let second: ImageResult;
  const root = join(dir, 'rootfs');
  let config: { config: { User: string; Labels: Record<string, string>; WorkingDir: string } };
  before(() => {
    first = buildImage({ outDir: join(dir, 'a') });
    second = buildImage({ outDir: join(dir, 'b') });
    const layout = join(dir, 'layout');
    mkdirSync(layout);
    mkdirSync(root);
    execFileSync('tar', ['-xf', first.archive, '-C', layout]);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const blob = (d: string): string => join(layout, 'blobs', 'sha256', d.replace('sha256:', ''));
    const manifest = JSON.parse(readFileSync(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8')) as typeof config;
    for (const l of manifest.layers) execFileSync('tar', ['-xzf', blob(l.digest), '-C', root]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the same digest for the same inputs', () => {
    assert.equal(first.digest, second.digest);
    assert.deepEqual(readFileSync(first.archive), readFileSync(second.archive));
  });

  it('runs as the numeric non-root user 65532 from /app and carries the OCI labels', () => {
    assert.equal(config.config.User, '65532:65532');
    assert.equal(config.config.WorkingDir, '/app');
    for (const l of ['version', 'revision', 'source', 'created'])
      assert.ok(config.config.Labels[`org.opencontainers.image.${l}`], l);
  });

  it('holds no shell, no package manager and no TypeScript source or dev dependency', () => {
    for (const p of [
      'bin/sh',
      'bin/bash',
      'usr/bin/apt',
      'usr/local/bin/npm',
      'app/node_modules/typescript',
      'app/node_modules/eslint',
      'app/sidecar/src/main.ts',
    ]) {
      assert.equal(existsSync(join(root, p)), false, `${p} must not be in the image`);
    }
    assert.deepEqual(readdirSync(join(root, 'usr/local/bin')), ['node']);
    assert.ok(existsSync(join(root, 'app/sidecar/src/main.js')));
    assert.ok(existsSync(join(root, 'app/node_modules/jose')));
  });

  it("runs the acp CLI with the image's own Node as user 65532", () => {
    const out = execFileSync(
      'chroot',
      ['--userspec=65532:65532', root, '/usr/local/bin/node', '/app/operator/src/cli/main.js', '--help'],
      { encoding: 'utf8' },
    );
    assert.match(out, /Usage: acp/);
  });

  it('writes a CycloneDX SBOM naming Node, glibc and the npm packages inside', () => {
    const sbom = JSON.parse(readFileSync(first.sbom, 'utf8')) as {
      bomFormat: string;
      components: { name: string; purl: string }[];
    };
    assert.equal(sbom.bomFormat, 'CycloneDX');
    const names = sbom.components.map((c) => c.name);
    for (const n of ['node', 'libc6', 'jose', 'pino', 'undici', 'prom-client'])
      assert.ok(names.includes(n), `${n} in the SBOM`);
    assert.ok(!names.includes('typescript'));
  });
});
