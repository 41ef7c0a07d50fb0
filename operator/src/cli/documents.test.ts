import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readPolicyDocuments } from './documents.ts';

const policy = (name: string, ns?: string) =>
  `apiVersion: compliance.acp.dev/v1alpha1\nkind: ApiCompliancePolicy\nmetadata: {name: ${name}${ns ? `, namespace: ${ns}` : ''}}\nspec: {}\n`;

describe('readPolicyDocuments', () => {
  it('reads every document of a multi-document file, labelled file#N', () => {
    const r = readPolicyDocuments(
      [{ name: 'p.yaml', text: `${policy('a', 'shop')}---\n${policy('b')}` }],
      'default',
    );
    assert.deepEqual(
      r.policies.map((p) => [p.source, p.label]),
      [
        ['p.yaml#1', 'shop/a'],
        ['p.yaml#2', 'default/b'],
      ],
    );
  });

  it('puts the -n namespace on policies that name none', () => {
    const r = readPolicyDocuments([{ name: 'p.yaml', text: policy('a') }], 'team');
    assert.deepEqual(r.policies[0]?.value['metadata'], { name: 'a', namespace: 'team' });
  });

  it('reads JSON too', () => {
    const r = readPolicyDocuments(
      [
        {
          name: 'p.json',
          text: JSON.stringify({
            apiVersion: 'compliance.acp.dev/v1alpha1',
            kind: 'ApiCompliancePolicy',
            metadata: { name: 'j' },
          }),
        },
      ],
      'default',
    );
    assert.equal(r.policies[0]?.label, 'default/j');
  });

  it('skips other kinds and says so', () => {
    const r = readPolicyDocuments(
      [{ name: 'm.yaml', text: `kind: Deployment\napiVersion: apps/v1\n---\n${policy('a')}` }],
      'default',
    );
    assert.equal(r.policies.length, 1);
    assert.deepEqual(r.skipped, [
      'm.yaml#1: Deployment is not a compliance.acp.dev/v1alpha1 ApiCompliancePolicy',
    ]);
  });

  it('ignores empty documents', () => {
    const r = readPolicyDocuments([{ name: 'm.yaml', text: `---\n${policy('a')}---\n` }], 'default');
    assert.equal(r.policies.length, 1);
    assert.deepEqual(r.errors, []);
  });

  it('reports a document that is not valid YAML, naming it', () => {
    const r = readPolicyDocuments([{ name: 'x.yaml', text: 'a: [1, 2\n' }], 'default');
    assert.match(r.errors[0] ?? '', /^x\.yaml: not valid YAML: /);
  });

  it('reports a document that is not an object', () => {
    const r = readPolicyDocuments([{ name: 'x.yaml', text: '- 1\n- 2\n' }], 'default');
    assert.deepEqual(r.errors, ['x.yaml: not an object']);
  });
});
