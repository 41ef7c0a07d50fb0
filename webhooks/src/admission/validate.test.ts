// The policy admission on its own (no HTTP): the UNENFORCEABLE table of
// crds/testdata/bad-policies.ts, the same that drives `acp validate` and
// the apiserver test, is refused with the field and our message; a good
// policy is allowed; semantic and namespace problems are listed together.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base, UNENFORCEABLE, type Policy } from '@acp/crds/testdata/bad-policies';
import type { AdmissionRequest } from './review.ts';
import { admitPolicy, type ValidateDeps } from './validate.ts';

const deps = (others: ValidateDeps['policiesIn'] = () => []): ValidateDeps => ({
  excludedNamespaces: new Set(['kube-system', 'acp-system']),
  policiesIn: others,
});

function request(policy: Policy, operation: AdmissionRequest['operation'] = 'CREATE'): AdmissionRequest {
  return {
    uid: 'u1',
    kind: { group: 'compliance.acp.dev', version: 'v1alpha1', kind: 'ApiCompliancePolicy' },
    resource: { group: 'compliance.acp.dev', version: 'v1alpha1', resource: 'apicompliancepolicies' },
    namespace: 'shop',
    name: policy.metadata.name,
    operation,
    object: { ...policy, metadata: { ...policy.metadata, namespace: 'shop' } },
    oldObject: null,
    dryRun: false,
  };
}

describe('admitPolicy refuses what acp validate refuses', () => {
  for (const [name, mutate, field, fragment] of UNENFORCEABLE) {
    it(`refuses ${name}, naming ${field}`, async () => {
      const p = base('bad');
      mutate(p.spec);
      const a = await admitPolicy(request(p), deps());
      assert.equal(a.response.allowed, false);
      assert.equal(a.response.status?.code, 422);
      const message = a.response.status?.message ?? '';
      assert.ok(message.includes(`${field}: `) && message.includes(fragment), message);
      assert.equal(a.outcome.kind, 'refused');
    });
  }

  it('allows the base policy', async () => {
    const a = await admitPolicy(request(base('good')), deps());
    assert.equal(a.response.allowed, true);
  });

  it('refuses an unenforceable UPDATE too', async () => {
    const p = base('bad');
    p.spec['limits'] = { headersTimeoutSeconds: 60, requestTimeoutSeconds: 30 };
    const a = await admitPolicy(request(p, 'UPDATE'), deps());
    assert.equal(a.response.allowed, false);
  });

  it('names a semantic problem and a selector overlap in one refusal', async () => {
    const p = base('bad');
    p.spec['limits'] = { headersTimeoutSeconds: 60, requestTimeoutSeconds: 30 };
    const a = await admitPolicy(
      request(p),
      deps(() => [{ name: 'other', selector: { matchLabels: { app: 'api' } } }]),
    );
    const message = a.response.status?.message ?? '';
    assert.match(message, /spec\.limits\.headersTimeoutSeconds: /);
    assert.match(message, /overlaps ApiCompliancePolicy "other"/);
  });
});
