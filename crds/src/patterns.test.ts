// The CRD's JWT rule path pattern runs in JavaScript's backtracking regex
// engine (ajv) in the CLI, the operator and the webhook: it must accept
// exactly what the original nested-quantifier form accepted, without its
// exponential time on a long path that does not match.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CRD_MANIFEST_URL, crdOpenApiSchema } from './crd.ts';
import { validatePolicy } from './validate.ts';

const NESTED = /^\/([A-Za-z0-9._~!$&'()+,;=:@%-]+\/?)*(\*)?$/;

function rulePathPattern(): RegExp {
  const schema = crdOpenApiSchema(readFileSync(CRD_MANIFEST_URL, 'utf8')) as any;
  const paths = schema.properties.spec.properties.jwt.properties.rules.items.properties.paths;
  return new RegExp(paths.items.pattern as string);
}

function* strings(alphabet: string[], maxLength: number): Generator<string> {
  let level = [''];
  for (let n = 0; n <= maxLength; n++) {
    yield* level;
    level = level.flatMap((s) => alphabet.map((c) => s + c));
  }
}

describe('the rule path pattern', () => {
  const pattern = rulePathPattern();

  it('accepts exactly what the nested form accepts (every string of up to 7 characters of a, /, *, #)', () => {
    for (const s of strings(['a', '/', '*', '#'], 7))
      assert.equal(pattern.test(s), NESTED.test(s), JSON.stringify(s));
  });

  it('refuses a 1000-character path that does not match without backtracking forever', () => {
    const path = `/${'a'.repeat(1000)}#`;
    const r = validatePolicy({
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name: 'p' },
      spec: {
        selector: {},
        upstream: { port: 8080 },
        jwt: {
          providers: [{ name: 'a', issuer: 'i', audiences: ['a'], jwksUri: 'https://i/' }],
          rules: [{ paths: [path] }],
        },
      },
    });
    assert.equal(r.ok, false);
  });
});
