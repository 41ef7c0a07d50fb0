import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LabelSelector } from './selector.ts';
import { checkPolicy, type PolicyCheckInput } from './validate.ts';

const excluded = new Set(['kube-system', 'kube-node-lease', 'acp-system']);

function check(
  selector: LabelSelector,
  others: [string, LabelSelector][] = [],
  extra: Partial<PolicyCheckInput> = {},
  spec: Record<string, unknown> = {},
) {
  return checkPolicy({
    namespace: 'shop',
    policy: { name: 'mine', selector, spec: { selector, upstream: { port: 8080 }, ...spec } },
    others: others.map(([name, s]) => ({ name, selector: s })),
    excludedNamespaces: excluded,
    ...extra,
  });
}

describe('checkPolicy: refused', () => {
  const cases: [string, () => ReturnType<typeof check>, string][] = [
    [
      'a policy in kube-system is refused',
      () => check({}, [], { namespace: 'kube-system' }),
      'can never apply',
    ],
    [
      "a policy in the operator's namespace is refused",
      () => check({}, [], { namespace: 'acp-system' }),
      'never injects pods in acp-system',
    ],
    [
      'a selector that requires and excludes one value is refused',
      () =>
        check({
          matchLabels: { app: 'a' },
          matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a'] }],
        }),
      'spec.selector can never match a pod',
    ],
    [
      'a label value no pod can carry is refused',
      () => check({ matchLabels: { app: 'not valid!' } }),
      'no pod can carry it',
    ],
    [
      'a label key no pod can carry is refused',
      () => check({ matchLabels: { 'bad key': 'a' } }),
      'no pod can carry it',
    ],
    [
      'an identical selector in the namespace is refused',
      () => check({ matchLabels: { app: 'a' } }, [['theirs', { matchLabels: { app: 'a' } }]]),
      'overlaps ApiCompliancePolicy "theirs": it has the same selection',
    ],
    [
      'a selector inside another policy’s selector is refused',
      () => check({ matchLabels: { app: 'a', tier: 'web' } }, [['theirs', { matchLabels: { app: 'a' } }]]),
      'every pod "mine" selects is also selected by "theirs"',
    ],
    [
      'a selector around another policy’s selector is refused',
      () => check({ matchLabels: { app: 'a' } }, [['theirs', { matchLabels: { app: 'a', tier: 'web' } }]]),
      'every pod "theirs" selects is also selected by "mine"',
    ],
    [
      'an empty selector next to any other policy is refused',
      () => check({}, [['theirs', { matchLabels: { app: 'a' } }]]),
      'overlaps ApiCompliancePolicy "theirs"',
    ],
  ];
  for (const [name, run, fragment] of cases) {
    it(name, () => {
      const r = run();
      assert.ok(r.errors.length > 0, 'refused');
      assert.ok(
        r.errors.some((e) => e.includes(fragment)),
        `${JSON.stringify(r.errors)} mentions ${fragment}`,
      );
    });
  }
});

describe('checkPolicy: allowed', () => {
  it('a policy alone in its namespace is allowed without warnings', () => {
    assert.deepEqual(check({ matchLabels: { app: 'a' } }), { errors: [], warnings: [] });
  });

  it('an update of a policy is not compared with itself', () => {
    assert.deepEqual(
      check({ matchLabels: { app: 'a' } }, [['mine', { matchLabels: { app: 'a' } }]]).errors,
      [],
    );
  });

  it('selectors excluding each other with NotIn are allowed without warnings', () => {
    const r = check(
      {
        matchLabels: { app: 'a' },
        matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }],
      },
      [['canary', { matchLabels: { app: 'a', track: 'canary' } }]],
    );
    assert.deepEqual(r, { errors: [], warnings: [] });
  });

  it('selectors on different keys are allowed with a warning that names a shared pod', () => {
    const r = check({ matchLabels: { app: 'a' } }, [['theirs', { matchLabels: { tier: 'web' } }]]);
    assert.deepEqual(r.errors, []);
    assert.match(r.warnings[0] ?? '', /a pod labelled app=a,tier=web would be selected by "theirs" too/);
  });

  it('an update keeps an overlap it already had as a warning, so it can still be fixed', () => {
    const r = check({ matchLabels: { app: 'a' } }, [['theirs', { matchLabels: { app: 'a' } }]], {
      previous: { name: 'mine', selector: { matchLabels: { app: 'a' } } },
    });
    assert.deepEqual(r.errors, []);
    assert.match(r.warnings[0] ?? '', /overlaps ApiCompliancePolicy "theirs"/);
  });

  it('an update that creates an overlap is refused', () => {
    const r = check({ matchLabels: { app: 'a' } }, [['theirs', { matchLabels: { app: 'a' } }]], {
      previous: { name: 'mine', selector: { matchLabels: { app: 'b' } } },
    });
    assert.equal(r.errors.length, 1);
  });

  const risky: [string, LabelSelector, Record<string, unknown>, RegExp][] = [
    [
      'an empty selector is warned about',
      {},
      {},
      /spec.selector is empty: the policy selects every pod in namespace shop/,
    ],
    ['Audit mode is warned about', { matchLabels: { app: 'a' } }, { mode: 'Audit' }, /spec.mode is Audit/],
    [
      'Permissive mTLS is warned about',
      { matchLabels: { app: 'a' } },
      { mtls: { mode: 'Permissive' } },
      /Permissive/,
    ],
    [
      'public paths are warned about by name',
      { matchLabels: { app: 'a' } },
      { jwt: { providers: [], rules: [{ paths: ['/healthz', '/docs/*'], public: true }] } },
      /spec.jwt.rules\[0\] is public: \/healthz, \/docs\/\* need no token/,
    ],
    [
      'egress default Allow is warned about',
      { matchLabels: { app: 'a' } },
      { egress: { default: 'Allow' } },
      /egress.default is Allow/,
    ],
  ];
  for (const [name, selector, spec, re] of risky) {
    it(name, () => {
      const r = check(selector, [], {}, spec);
      assert.deepEqual(r.errors, []);
      assert.ok(
        r.warnings.some((w) => re.test(w)),
        JSON.stringify(r.warnings),
      );
    });
  }
});
