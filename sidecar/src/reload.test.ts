import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createMetrics } from './metrics.ts';
import { startReloader, type Reloader } from './reload.ts';
import type { CredentialFiles } from './tls/credentials.ts';

const dir = mkdtempSync(join(tmpdir(), 'acp-reload-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Probe {
  reloader: Reloader;
  configCalls: string[];
  credentialCalls: CredentialFiles[];
  clock: { now: number };
  writeConfig(text: string): void;
  /** The next config handed to the target is refused (thrown), as an invalid one would be. */
  refuseConfig: Set<string>;
  /** The value of acp_sidecar_reload_refused{kind="config"}. */
  configRefused(): Promise<number | undefined>;
}

let n = 0;
function probe(): Probe {
  const base = join(dir, String(n++));
  const identity = join(base, 'identity');
  mkdirSync(identity, { recursive: true });
  const configPath = join(base, 'sidecar.json');
  writeFileSync(configPath, 'config-1');
  writeFileSync(join(identity, 'tls.crt'), 'cert');
  writeFileSync(join(identity, 'tls.key'), 'key');
  writeFileSync(join(identity, 'ca.crt'), 'ca');
  const configCalls: string[] = [];
  const credentialCalls: CredentialFiles[] = [];
  const refuseConfig = new Set<string>();
  const clock = { now: 1_000_000 };
  const registry = new Registry();
  const reloader = startReloader({
    configPath,
    identityDir: identity,
    watchDirs: [],
    pollMs: 3_600_000,
    debounceMs: 10,
    nowMs: () => clock.now,
    log: pino({ level: 'silent' }),
    metrics: createMetrics(registry),
    targets: {
      config(text) {
        configCalls.push(text);
        if (refuseConfig.has(text)) throw new Error('invalid');
        return false;
      },
      credentials(files) {
        credentialCalls.push(files);
        return false;
      },
    },
  });
  after(() => reloader.close());
  return {
    reloader,
    configCalls,
    credentialCalls,
    clock,
    refuseConfig,
    writeConfig: (text) => writeFileSync(configPath, text),
    configRefused: async () =>
      (await registry.getSingleMetric('acp_sidecar_reload_refused')?.get())?.values.find(
        (v) => v.labels['kind'] === 'config',
      )?.value,
  };
}

describe('reloader', () => {
  it('does not parse a config again when the file did not change', async () => {
    const p = probe();
    await p.reloader.check();
    await p.reloader.check();
    await p.reloader.check();
    assert.deepEqual(p.configCalls, ['config-1']);
  });

  it('hands a changed config to the target once', async () => {
    const p = probe();
    await p.reloader.check();
    p.writeConfig('config-2');
    await p.reloader.check();
    await p.reloader.check();
    assert.deepEqual(p.configCalls, ['config-1', 'config-2']);
  });

  it('keeps trying a refused file at each check and takes the previous config again when it comes back', async () => {
    const p = probe();
    await p.reloader.check();
    p.refuseConfig.add('bad');
    p.writeConfig('bad');
    await p.reloader.check();
    await p.reloader.check();
    p.writeConfig('config-1');
    await p.reloader.check();
    assert.deepEqual(p.configCalls, ['config-1', 'bad', 'bad', 'config-1']);
  });

  it('reports a refused config as in force-but-stale until an accepted one replaces it', async () => {
    const p = probe();
    await p.reloader.check();
    assert.equal(await p.configRefused(), 0);
    p.refuseConfig.add('bad');
    p.writeConfig('bad');
    await p.reloader.check();
    assert.equal(await p.configRefused(), 1);
    await p.reloader.check();
    assert.equal(await p.configRefused(), 1, 'still refused at the next check (counted once)');
    p.writeConfig('config-1');
    await p.reloader.check();
    assert.equal(await p.configRefused(), 0, 'the file on disk is the config in force again');
  });

  it('validates unchanged credentials again only after a minute (an expired certificate is still reported)', async () => {
    const p = probe();
    await p.reloader.check();
    p.clock.now += 59_000;
    await p.reloader.check();
    assert.equal(p.credentialCalls.length, 1);
    p.clock.now += 2_000;
    await p.reloader.check();
    assert.equal(p.credentialCalls.length, 2);
    assert.deepEqual(p.configCalls, ['config-1']);
  });
});
