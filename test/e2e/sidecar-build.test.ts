// End-to-end: the production build (scripts/build.ts). The built sidecar
// runs with Node's TypeScript stripping switched off (so no .ts file can be
// loaded), answers /healthz, and forwards a request through the whole
// layer list; the build writes no .ts import; dist/ is ignored by git.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { globSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build } from '../../scripts/build.ts';
import { CLIENT_ID, curl, HSTS, startSidecar, type RunningSidecar } from './sidecar-support.ts';

const root = resolve(import.meta.dirname, '..', '..');

describe('sidecar e2e: the production build', () => {
  let out: string;
  let s: RunningSidecar;
  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'acp-build-'));
    build(out);
    // Production keeps dist/ next to node_modules; the temporary build borrows the repository's.
    symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
    s = await startSidecar((c) => (c.mtls.allowedPeers = [CLIENT_ID]), {
      entry: join(out, 'sidecar/src/main.js'),
      nodeArgs: ['--no-experimental-strip-types'],
    });
  });
  after(async () => {
    await s.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('answers /healthz from the built sidecar', async () => {
    const r = await fetch(`http://127.0.0.1:${s.ports.admin}/healthz`);
    assert.equal(r.status, 200);
  });
  it('forwards a request through every layer of the built sidecar', async () => {
    const r = await curl(s, '/v1/items?a=1');
    assert.equal(r.status, 200);
    assert.equal(r.headers['strict-transport-security'], HSTS);
    assert.equal(s.app.requests.at(-1)?.url, '/v1/items?a=1');
    assert.equal(s.app.requests.at(-1)?.headers['x-acp-peer-id'], CLIENT_ID);
  });
  it('writes plain JavaScript only: no .ts file and no .ts import', () => {
    const files = globSync('**/*', { cwd: out, exclude: ['node_modules'] });
    assert.ok(files.some((f) => f.endsWith('.js')));
    assert.deepEqual(
      files.filter((f) => f.endsWith('.ts')),
      [],
    );
    const tsImports = files
      .filter((f) => f.endsWith('.js'))
      .filter((f) =>
        /\bfrom\s*'\.[^']*\.ts'|import\(\s*'\.[^']*\.ts'\s*\)/.test(readFileSync(join(out, f), 'utf8')),
      );
    assert.deepEqual(tsImports, []);
  });
  it('keeps dist/ out of git', () => {
    execFileSync('git', ['check-ignore', '-q', 'dist/sidecar/src/main.js'], { cwd: root });
    assert.equal(execFileSync('git', ['ls-files', 'dist'], { cwd: root, encoding: 'utf8' }), '');
  });
});
