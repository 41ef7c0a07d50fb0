// The UNENFORCEABLE table (crds/testdata/bad-policies.ts) is what the
// semantic checks add to the CRD: each case passes the schema and the CEL
// rules (so only the webhook, the CLI and the operator can refuse it) and
// checkPolicySpec refuses it, naming the field with the table's message.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { base, UNENFORCEABLE } from '../../testdata/bad-policies.ts';
import { validatePolicyWithRules } from '../cel/policy.ts';
import { compileCrdRules } from '../cel/rules.ts';
import { CRD_MANIFEST_URL, crdOpenApiSchema } from '../crd.ts';
import { checkPolicySpec } from './semantic.ts';

const rules = compileCrdRules(crdOpenApiSchema(readFileSync(CRD_MANIFEST_URL, 'utf8')));

describe('what the semantic checks refuse beyond the CRD', () => {
  for (const [name, mutate, field, fragment] of UNENFORCEABLE) {
    it(`lets ${name} through the schema and CEL rules, and refuses it naming ${field}`, async () => {
      const policy = base('unenforceable');
      mutate(policy.spec);
      const crd = validatePolicyWithRules(policy, rules);
      assert.equal(crd.ok, true, JSON.stringify(crd.ok ? null : crd.errors));
      const r = await checkPolicySpec(policy);
      assert.equal(r.ok, false, 'accepted');
      if (r.ok) return;
      assert.ok(
        r.errors.some((e) => e.field === field && e.message.includes(fragment)),
        JSON.stringify(r.errors),
      );
    });
  }
  it('accepts the base policy the cases start from', async () => {
    assert.equal((await checkPolicySpec(base('good'))).ok, true);
  });
});
