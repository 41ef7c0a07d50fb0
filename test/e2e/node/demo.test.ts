// Keeps the README's `npm run demo` true: `demo --check` runs every step on
// the real node of this test phase (ACP_TEST_NODE_DIR: it uses that node
// instead of starting its own) and exits 0 only when each step held.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

describe('npm run demo -- --check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acp-demo-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('installs the chart, injects a callee and a caller, and every request gets the answer it should', async () => {
    assert.ok(process.env['ACP_TEST_NODE_DIR'], 'run by the real-node phase of npm test');
    const main = join(import.meta.dirname, '..', '..', 'demo', 'run.ts');
    const child = spawn(process.execPath, [main, '--check'], {
      env: { ...process.env, ACP_DEMO_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /^FAIL/m);
    assert.match(
      out,
      /^ok\s+host -> payments pod IP as checkout with a token: 200\s.*caller=spiffe:\/\/cluster\.local\/ns\/demo-shop\/sa\/checkout sub=alice/m,
    );
    assert.match(out, /^ok\s+checkout pod -> its sidecar -> mTLS -> payments sidecar: 200/m);
    // Ready, Compliant, Verified (measured by the prober), Mode.
    assert.match(out, /payments\s+True\s+True\s+\S+\s+Enforce/);
    assert.match(out, /every step held/);
  });
});
