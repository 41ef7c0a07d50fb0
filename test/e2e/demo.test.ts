// Keeps the README's `npm run demo` true: the demo runs end to end
// (`--once`) and its requests get the answers it prints.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

describe('npm run demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acp-demo-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('brings the product up locally and serves an mTLS request with a token', async () => {
    const main = join(import.meta.dirname, '..', 'demo', 'run.ts');
    const child = spawn(process.execPath, [main, '--once'], {
      env: { ...process.env, ACP_DEMO_DIR: dir, ACP_TEST_KUBECONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0, out);
    assert.match(out, /with a payments:read token\s+-> 200 hello from payments/);
    assert.match(out, /without a token\s+-> 401 .*ACP_ERR_JWT_MISSING/);
    assert.match(out, /payments\s+True\s+True\s+Enforce\s+1\/1/);
  });
});
