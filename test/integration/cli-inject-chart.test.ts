// `acp inject` without --injection-config uses the chart's defaults: the
// injection.json the chart renders with its default values (ConfigMap
// acp-webhook-injection, what the webhook reads) parses to the same
// settings, and the CLI prints the same with that file as without it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_INJECTION_CONFIG, parseInjectionConfig } from '@acp/webhooks/inject';
import { helm, useCluster, type TestCluster } from '../src/index.ts';

const root = join(import.meta.dirname, '..', '..');
const chart = join(root, 'charts', 'api-compliance-operator');
const main = join(root, 'operator', 'src', 'cli', 'main.ts');

describe("acp inject and the chart's injection config", () => {
  let cluster: TestCluster;
  let rendered = '';
  const tmp = mkdtempSync(join(tmpdir(), 'acp-cli-inject-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  before(async () => {
    cluster = await useCluster();
    const r = await helm(cluster, ['template', 'acp', chart, '--namespace', 'acp-system']);
    assert.equal(r.code, 0, r.stderr);
    const cm = parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> })
      .find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'acp-webhook-injection');
    rendered = cm?.data?.['injection.json'] ?? '';
    assert.ok(rendered, 'the chart renders injection.json');
  });

  it("the chart's default injection.json gives the CLI's default settings", () => {
    assert.deepEqual(parseInjectionConfig(JSON.parse(rendered)), DEFAULT_INJECTION_CONFIG);
  });

  it('inject prints the same with the rendered injection.json as without --injection-config', () => {
    const file = join(tmp, 'injection.json');
    writeFileSync(file, rendered);
    const input = join(root, 'webhooks', 'testdata', 'basic.yaml');
    const run = (extra: string[]) =>
      spawnSync(process.execPath, [main, 'inject', '-f', input, ...extra], { cwd: root, encoding: 'utf8' });
    const plain = run([]);
    const withChart = run(['--injection-config', file]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(withChart.status, 0, withChart.stderr);
    assert.match(plain.stdout, /name: acp-sidecar/);
    assert.equal(withChart.stdout, plain.stdout);
  });
});
