// The Helm chart carries a copy of the CRD (Helm installs crds/ before
// templates); this test fails when the copy drifts from the source of truth.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(import.meta.dirname, '..', '..');

describe('Helm chart', () => {
  it('carries the same CRD as crds/manifests', () => {
    const file = 'apicompliancepolicies.compliance.acp.dev.yaml';
    assert.equal(
      readFileSync(join(root, 'charts', 'api-compliance-operator', 'crds', file), 'utf8'),
      readFileSync(join(root, 'crds', 'manifests', file), 'utf8'),
      'run: cp crds/manifests/*.yaml charts/api-compliance-operator/crds/',
    );
  });
});
