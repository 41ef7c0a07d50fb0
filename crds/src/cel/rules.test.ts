import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CRD_MANIFEST_URL, crdOpenApiSchema } from '../crd.ts';
import { isUrl, kubernetesCelEnvironment } from './library.ts';
import { validatePolicyWithRules, RULES_NOT_CHECKED } from './policy.ts';
import { compileCrdRules } from './rules.ts';

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  ...extra,
});

describe('compileCrdRules', () => {
  it('compiles every rule of the real CRD', () => {
    const yaml = readFileSync(CRD_MANIFEST_URL, 'utf8');
    const count = (yaml.match(/- rule:/g) ?? []).length;
    assert.equal(compileCrdRules(crdOpenApiSchema(yaml)).ruleCount, count);
  });

  it('refuses a rule that calls a function the evaluator does not have, naming the schema path', () => {
    const schema = obj({
      spec: obj({ a: { type: 'string', 'x-kubernetes-validations': [{ rule: 'noSuch(self)' }] } }),
    });
    assert.throws(() => compileCrdRules(schema), { code: 'ACP_ERR_CEL_COMPILE', message: /^spec\.a: / });
  });

  it('refuses a rule that does not parse', () => {
    const schema = obj({}, { 'x-kubernetes-validations': [{ rule: 'self.a ==' }] });
    assert.throws(() => compileCrdRules(schema), { code: 'ACP_ERR_CEL_COMPILE' });
  });

  it('skips transition rules (oldSelf): offline every object is new', () => {
    const schema = obj({}, { 'x-kubernetes-validations': [{ rule: 'self == oldSelf' }] });
    assert.equal(compileCrdRules(schema).ruleCount, 0);
  });
});

describe('CrdRuleValidator.validate', () => {
  const schema = obj({
    spec: obj(
      {
        size: {
          'x-kubernetes-int-or-string': true,
          'x-kubernetes-validations': [
            { rule: 'quantity(string(self)).asInteger() <= 1024', message: 'size too big' },
          ],
        },
        name: {
          type: 'string',
          'x-kubernetes-validations': [
            { rule: "self.startsWith('a')", messageExpression: "'name ' + self + ' must start with a'" },
          ],
        },
        tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
        items: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['id'],
          items: obj(
            { id: { type: 'string' }, n: { type: 'integer' } },
            { 'x-kubernetes-validations': [{ rule: 'self.n > 0' }] },
          ),
        },
        labels: {
          type: 'object',
          additionalProperties: {
            type: 'string',
            'x-kubernetes-validations': [{ rule: 'size(self) < 4', message: 'short' }],
          },
        },
      },
      {
        'x-kubernetes-validations': [
          { rule: '!has(self.a) || has(self.b)', message: 'a needs b', fieldPath: '.b' },
        ],
      },
    ),
  });
  const v = compileCrdRules(schema);
  const cases: [string, unknown, { field: string; message: string }[]][] = [
    ['holds for an empty object: absent optional nodes are skipped', { spec: {} }, []],
    [
      'reports the message at the node plus fieldPath',
      { spec: { a: 1 } },
      [{ field: 'spec.b', message: 'a needs b' }],
    ],
    [
      'uses messageExpression when it evaluates to a string',
      { spec: { name: 'bob' } },
      [{ field: 'spec.name', message: 'name bob must start with a' }],
    ],
    [
      'evaluates int-or-string quantities from a number',
      { spec: { size: 2048 } },
      [{ field: 'spec.size', message: 'size too big' }],
    ],
    ['evaluates int-or-string quantities from a string', { spec: { size: '1Ki' } }, []],
    [
      'says "failed rule" when a rule has no message',
      { spec: { items: [{ id: 'x', n: 0 }] } },
      [{ field: 'spec.items[0]', message: 'failed rule: self.n > 0' }],
    ],
    [
      'finds duplicate items of a set',
      { spec: { tags: ['a', 'b', 'a'] } },
      [{ field: 'spec.tags[2]', message: 'Duplicate value: "a"' }],
    ],
    [
      'finds duplicate keys of a map list',
      {
        spec: {
          items: [
            { id: 'x', n: 1 },
            { id: 'x', n: 2 },
          ],
        },
      },
      [{ field: 'spec.items[1]', message: 'Duplicate value: {"id":"x"}' }],
    ],
    [
      'walks additionalProperties with the key in brackets',
      { spec: { labels: { k: 'long' } } },
      [{ field: 'spec.labels[k]', message: 'short' }],
    ],
  ];
  for (const [name, input, want] of cases) it(name, () => assert.deepEqual(v.validate(input), want));

  it('reports a rule that fails to evaluate instead of throwing', () => {
    const errors = v.validate({ spec: { size: 'lots' } });
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.field, 'spec.size');
    assert.match(errors[0]?.message ?? '', /could not be evaluated/);
  });
});

describe('validatePolicyWithRules', () => {
  const rules = compileCrdRules(crdOpenApiSchema(readFileSync(CRD_MANIFEST_URL, 'utf8')));
  const policy = (spec: Record<string, unknown>) => ({
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name: 'p' },
    spec: { selector: {}, upstream: { port: 8080 }, ...spec },
  });

  it('does not evaluate rules on an object with type or enum errors, and says so', () => {
    const r = validatePolicyWithRules(policy({ mode: 'Monitor', upstream: { port: 8443 } }), rules);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.ok(r.errors.some((e) => e.field === 'spec.mode'));
    assert.ok(r.errors.some((e) => e.message === RULES_NOT_CHECKED));
    assert.ok(!r.errors.some((e) => e.field === 'spec.upstream.port'));
  });

  it('evaluates rules next to non-blocking schema errors', () => {
    const r = validatePolicyWithRules(policy({ upstream: { port: 8443 }, tlsVersion: '1.2' }), rules);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(
      r.errors.map((e) => e.field),
      ['spec.tlsVersion', 'spec.upstream.port'],
    );
  });

  it('returns the defaulted policy when everything holds', () => {
    const r = validatePolicyWithRules(policy({}), rules);
    assert.equal(r.ok, true);
    if (r.ok) assert.equal(r.value.spec.mode, 'Enforce');
  });
});

describe('Kubernetes CEL library', () => {
  const env = kubernetesCelEnvironment();
  const cases: [string, string, unknown][] = [
    ['compares durations', "duration('1h30m') > duration('90m')", false],
    ['compares Go durations with fractions', "duration('1.5h') == duration('90m')", true],
    ['tells quantities', "isQuantity('2Mi') && !isQuantity('2 Mi')", true],
    ['converts quantities to integers', "quantity('1.5Ki').asInteger()", 1536n],
    ['knows fractional quantities are not integers', "quantity('500m').isInteger()", false],
    ['compares quantities', "quantity('1Ki').isGreaterThan(quantity('1k'))", true],
    ['knows https URLs', "isURL('https://idp.example.com/jwks.json')", true],
    ['refuses URLs with spaces', "isURL('https://idp example.com/')", false],
    ['has the exists macro', "['a', 'b'].exists(s, s == 'b')", true],
    ['has the all macro', "['a', 'b'].all(s, s in ['a'])", false],
  ];
  for (const [name, expr, want] of cases) it(name, () => assert.equal(env.evaluate(expr), want));

  it('isURL accepts absolute paths like Go url.ParseRequestURI, and refuses relative ones', () => {
    assert.equal(isUrl('/jwks'), true);
    assert.equal(isUrl('jwks.json'), false);
  });
});
