// Parity with the real apiserver: every bad policy that
// test/integration/crd-validation.test.ts sees refused by kube-apiserver
// (the same table, crds/testdata/bad-policies.ts) is refused offline too,
// naming the same field; every example is accepted.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { BAD, base } from '../../testdata/bad-policies.ts';
import { CRD_MANIFEST_URL, crdOpenApiSchema } from '../crd.ts';
import { validatePolicyWithRules } from './policy.ts';
import { compileCrdRules } from './rules.ts';

const rules = compileCrdRules(crdOpenApiSchema(readFileSync(CRD_MANIFEST_URL, 'utf8')));
const examples = join(import.meta.dirname, '..', '..', 'examples');

// The apiserver's wording for schema errors differs from ajv's; CEL rule
// messages are the CRD's own and must match exactly.
const APISERVER_SCHEMA_WORDING = ['Unsupported value', 'should match', 'should be greater', 'unknown field'];

describe('offline validation refuses what the real apiserver refuses', () => {
  for (const [name, mutate, field, fragment] of BAD) {
    it(`refuses ${name} and names ${field}`, () => {
      const policy = base('bad');
      mutate(policy.spec);
      const r = validatePolicyWithRules(policy, rules);
      assert.equal(r.ok, false, 'accepted');
      if (r.ok) return;
      const named = r.errors.filter((e) => e.field === field);
      assert.ok(named.length > 0, `no error names ${field}: ${JSON.stringify(r.errors)}`);
      if (!APISERVER_SCHEMA_WORDING.some((w) => fragment.startsWith(w))) {
        assert.ok(
          named.some((e) => e.message.includes(fragment)),
          `no message contains "${fragment}": ${JSON.stringify(named)}`,
        );
      }
    });
  }

  it('accepts every example in crds/examples', () => {
    const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const r = validatePolicyWithRules(parse(readFileSync(join(examples, f), 'utf8')), rules);
      assert.equal(r.ok, true, `${f}: ${JSON.stringify(r.ok ? null : r.errors)}`);
    }
  });

  it('accepts the base policy the bad cases start from', () => {
    assert.equal(validatePolicyWithRules(base('good'), rules).ok, true);
  });
});
