import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatComplianceJson, formatComplianceTable, formatTable, type CheckedPolicy } from './format.ts';

const checked: CheckedPolicy = {
  source: 'p.yaml',
  label: 'shop/p',
  report: {
    profiles: [{ name: 'GDPR', status: 'Fail', passed: 1, failed: 1 }],
    controls: [
      { id: 'Art. 32(1)(a)', profile: 'GDPR', title: 'Encryption', status: 'Pass', message: 'TLS' },
      {
        id: 'Art. 5(1)(c)',
        profile: 'GDPR',
        title: 'Minimisation',
        status: 'Fail',
        message: 'logs x-api-key',
      },
    ],
  },
  condition: {
    type: 'Compliant',
    status: 'False',
    reason: 'ControlsFailing',
    message: '1 of 2 controls fail: GDPR Art. 5(1)(c)',
  },
};

describe('formatTable', () => {
  it('pads columns to the widest cell and leaves no trailing spaces', () =>
    assert.equal(
      formatTable([
        ['A', 'BB', 'C'],
        ['aaa', 'b', ''],
      ]),
      'A    BB  C\naaa  b',
    ));
});

describe('formatComplianceTable', () => {
  it('prints a summary, a row per control and its evidence below it', () => {
    assert.equal(
      formatComplianceTable(checked),
      [
        'p.yaml: shop/p: Not compliant (1 of 2 controls fail: GDPR Art. 5(1)(c))',
        '',
        'PROFILE  STATUS  PASSED  FAILED',
        'GDPR     Fail    1       1',
        '',
        'PROFILE  CONTROL        STATUS  TITLE',
        'GDPR     Art. 32(1)(a)  Pass    Encryption',
        '    TLS',
        'GDPR     Art. 5(1)(c)   Fail    Minimisation',
        '    logs x-api-key',
        '',
      ].join('\n'),
    );
  });

  it('prints only the headline without controls', () => {
    const none: CheckedPolicy = {
      ...checked,
      report: { profiles: [], controls: [] },
      condition: {
        type: 'Compliant',
        status: 'True',
        reason: 'NoProfiles',
        message: 'spec.profiles is empty: no compliance controls apply',
      },
    };
    assert.equal(
      formatComplianceTable(none),
      'p.yaml: shop/p: Compliant (spec.profiles is empty: no compliance controls apply)\n',
    );
  });
});

describe('formatComplianceJson', () => {
  it('prints status.compliance and the condition per policy', () => {
    const out = JSON.parse(formatComplianceJson([checked]));
    assert.deepEqual(out.policies[0].compliance, checked.report);
    assert.deepEqual(out.policies[0].condition, {
      type: 'Compliant',
      status: 'False',
      reason: 'ControlsFailing',
      message: '1 of 2 controls fail: GDPR Art. 5(1)(c)',
    });
    assert.equal(out.policies[0].policy, 'shop/p');
  });
});
