// The chart's webhook templates spell the contract names (crds/src/names.ts)
// the code uses: configuration and entry names, paths, the Service, the
// serving Secret, and the namespaces never matched. Text checks: the
// rendered objects are exercised by the integration tests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  MUTATING_WEBHOOK_CONFIGURATION,
  SYSTEM_NAMESPACES,
  VALIDATING_WEBHOOK_CONFIGURATION,
  WEBHOOK_NAMES,
  WEBHOOK_PATHS,
  WEBHOOK_SERVICE_NAME,
  WEBHOOK_SERVING_SECRET,
} from '@acp/crds';

const templates = join(import.meta.dirname, '..', '..', 'charts', 'api-compliance-operator', 'templates');
const read = (f: string): string => readFileSync(join(templates, f), 'utf8');

describe('chart webhook templates', () => {
  it('the configurations use the contract names, paths and Service', () => {
    const t = read('webhook-configurations.yaml');
    for (const name of [
      MUTATING_WEBHOOK_CONFIGURATION,
      VALIDATING_WEBHOOK_CONFIGURATION,
      WEBHOOK_SERVICE_NAME,
    ]) {
      assert.match(t, new RegExp(`name: ${name}\\b`));
    }
    for (const name of Object.values(WEBHOOK_NAMES))
      assert.match(t, new RegExp(`- name: ${name.replace(/\./g, '\\.')}\n`));
    for (const path of Object.values(WEBHOOK_PATHS)) assert.match(t, new RegExp(`path: ${path},`));
    assert.match(t, /sideEffects" "None"/);
    assert.doesNotMatch(t, /caBundle:/, 'caBundle belongs to the webhook, not the chart');
  });

  it('the configurations never match the system namespaces', () => {
    const helpers = read('_helpers.tpl');
    for (const ns of SYSTEM_NAMESPACES) assert.match(helpers, new RegExp(`"${ns}"`));
    assert.match(helpers, /\.Release\.Namespace/);
  });

  it('the RBAC names the configurations and the serving Secret it may write', () => {
    const t = read('webhook-rbac.yaml');
    for (const name of [
      MUTATING_WEBHOOK_CONFIGURATION,
      VALIDATING_WEBHOOK_CONFIGURATION,
      WEBHOOK_SERVING_SECRET,
    ]) {
      assert.match(t, new RegExp(`resourceNames: \\[${name}\\]`));
    }
  });

  it('the timeout stays within 10 seconds', () => {
    const values = readFileSync(join(templates, '..', 'values.yaml'), 'utf8');
    const timeout = Number(/timeoutSeconds: (\d+)/.exec(values)?.[1]);
    assert.ok(timeout > 0 && timeout <= 10, `webhook.timeoutSeconds is ${timeout}`);
  });
});
