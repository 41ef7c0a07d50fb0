import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicy, type ApiCompliancePolicy } from '@acp/crds';
import { aPolicy, compiled, withMode, withProfiles } from '../testing/builders.ts';
import { complianceCondition, evaluateCompliance } from './evaluate.ts';
import { PROFILE_CONTROLS } from './profiles.ts';

async function evaluate(policy: ApiCompliancePolicy, profiles?: Parameters<typeof evaluateCompliance>[2]) {
  const v = validatePolicy(policy);
  assert.ok(v.ok);
  return evaluateCompliance(await compiled(v.value), v.value, profiles);
}

describe('evaluateCompliance', () => {
  it('evaluates every control of every profile in spec.profiles, in order', async () => {
    const r = await evaluate(aPolicy(withProfiles('SOC2', 'PCI-DSS-4.0')));
    assert.deepEqual(
      r.profiles.map((p) => p.name),
      ['SOC2', 'PCI-DSS-4.0'],
    );
    assert.equal(r.controls.length, PROFILE_CONTROLS.SOC2.length + PROFILE_CONTROLS['PCI-DSS-4.0'].length);
  });

  it('evaluates the profiles asked for instead of spec.profiles', async () => {
    const r = await evaluate(aPolicy(withProfiles('SOC2')), { profiles: ['NIST-800-52r2', 'NIST-800-52r2'] });
    assert.deepEqual(
      r.profiles.map((p) => p.name),
      ['NIST-800-52r2'],
    );
  });

  it('counts passed and failed controls per profile', async () => {
    const r = await evaluate(aPolicy(withProfiles('NIST-800-52r2')));
    assert.deepEqual(r.profiles, [{ name: 'NIST-800-52r2', status: 'Fail', passed: 2, failed: 1 }]);
  });

  it('is empty without profiles', async () =>
    assert.deepEqual(await evaluate(aPolicy()), { profiles: [], controls: [] }));

  it('fails controls that need enforcement in Audit mode, keeping what the check found', async () => {
    const r = await evaluate(aPolicy(withMode('Audit'), withProfiles('HIPAA')));
    const d = r.controls.find((c) => c.id === '164.312(d)');
    assert.equal(d?.status, 'Fail');
    assert.match(d?.message ?? '', /^mode is Audit: .*\(Strict mTLS authenticates/);
    assert.equal(r.controls.find((c) => c.id === '164.312(b)')?.status, 'Pass');
  });

  it('is shaped exactly like status.compliance of the CRD', async () => {
    const p = aPolicy(withProfiles('PCI-DSS-4.0', 'HIPAA', 'SOC2', 'GDPR', 'NIST-800-52r2'));
    p.status = { compliance: await evaluate(p) };
    const v = validatePolicy(p);
    assert.equal(v.ok, true, JSON.stringify(v.ok ? null : v.errors));
  });

  it('gives every control an id, a title and a message', async () => {
    const r = await evaluate(aPolicy(withProfiles('PCI-DSS-4.0', 'HIPAA', 'SOC2', 'GDPR', 'NIST-800-52r2')));
    for (const c of r.controls) assert.ok(c.id && c.title && c.message, JSON.stringify(c));
  });
});

describe('complianceCondition', () => {
  it('is True with AllControlsPass when every control passes', async () => {
    const r = await evaluate(aPolicy(withProfiles('PCI-DSS-4.0')), { profiles: ['HIPAA'] });
    const ok = {
      profiles: r.profiles.map((p) => ({ ...p, status: 'Pass' as const })),
      controls: r.controls.map((c) => ({ ...c, status: 'Pass' as const })),
    };
    assert.deepEqual(complianceCondition(ok, 3), {
      type: 'Compliant',
      status: 'True',
      reason: 'AllControlsPass',
      message: `all ${r.controls.length} controls of HIPAA pass`,
      observedGeneration: 3,
    });
  });

  it('is False with ControlsFailing and lists the failing control ids', async () => {
    const c = complianceCondition(await evaluate(aPolicy(withProfiles('NIST-800-52r2', 'HIPAA'))));
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'ControlsFailing');
    assert.equal(c.message, '2 of 9 controls fail: NIST-800-52r2 3.3.1, HIPAA 164.312(a)(1)');
  });

  it('is True with NoProfiles when the policy names none', async () => {
    const c = complianceCondition(await evaluate(aPolicy()));
    assert.equal(c.status, 'True');
    assert.equal(c.reason, 'NoProfiles');
  });
});
