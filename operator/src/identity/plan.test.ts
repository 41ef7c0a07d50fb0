import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IdentityDemand } from './demand.ts';
import type { InspectedIdentity, Inspection } from './inspect.ts';
import { planIdentity, renewAt, renewalJitterMs, type PlanInput } from './plan.ts';

const HOUR = 3_600_000;
const issuedAt = new Date('2026-11-28T00:00:00Z');
const demand: IdentityDemand = {
  namespace: 'shop',
  serviceAccount: 'checkout',
  settings: { keyAlgorithm: 'ECDSA-P256', lifetimeMs: 24 * HOUR, renewBeforeMs: 8 * HOUR },
  policies: ['payments'],
  pods: 1,
};
const identity = (over: Partial<InspectedIdentity> = {}): Inspection => ({
  ok: true,
  value: {
    spiffeIds: ['spiffe://cluster.local/ns/shop/sa/checkout'],
    notBefore: issuedAt,
    notAfter: new Date(issuedAt.getTime() + 24 * HOUR),
    serialNumber: '4a5b',
    keyAlgorithm: 'ECDSA-P256',
    issuerFingerprint: 'CA1',
    annotations: { 'acp.dev/lifetime-ms': String(24 * HOUR) },
    ...over,
  },
});
const input = (over: Partial<PlanInput> = {}): PlanInput => ({
  demand,
  existing: identity(),
  expectedSpiffeId: 'spiffe://cluster.local/ns/shop/sa/checkout',
  signerFingerprint: 'CA1',
  trustedFingerprints: ['CA1', 'CA0'],
  now: new Date(issuedAt.getTime() + HOUR),
  ...over,
});

describe('planIdentity', () => {
  const cases: [string, Partial<PlanInput>, string][] = [
    ['issues when the Secret is missing', { existing: undefined }, 'issue:Missing'],
    ['keeps a current certificate', {}, 'keep'],
    [
      'renews once the renewal time has come',
      { now: new Date(issuedAt.getTime() + 16 * HOUR) },
      'issue:Renewal',
    ],
    ['renews an expired certificate', { now: new Date(issuedAt.getTime() + 25 * HOUR) }, 'issue:Expired'],
    [
      'restores a Secret whose key does not match',
      { existing: { ok: false, problem: 'tls.key does not match' } },
      'issue:Tampered',
    ],
    [
      'restores a certificate with another identity',
      { existing: identity({ spiffeIds: ['spiffe://cluster.local/ns/shop/sa/admin'] }) },
      'issue:Tampered',
    ],
    [
      'restores a certificate with two identities',
      { existing: identity({ spiffeIds: ['spiffe://cluster.local/ns/shop/sa/checkout', 'spiffe://x/y'] }) },
      'issue:Tampered',
    ],
    [
      'restores a certificate from an unknown issuer',
      { existing: identity({ issuerFingerprint: undefined }) },
      'issue:Tampered',
    ],
    [
      'restores a certificate from an issuer no longer trusted',
      { existing: identity({ issuerFingerprint: 'EVIL' }) },
      'issue:Tampered',
    ],
    [
      'reissues from the new CA when the old one is being retired',
      { signerFingerprint: 'CA2', trustedFingerprints: ['CA2', 'CA1'] },
      'issue:IssuerChanged',
    ],
    [
      'reissues when the key algorithm changes',
      { demand: { ...demand, settings: { ...demand.settings, keyAlgorithm: 'RSA-2048' } } },
      'issue:KeyAlgorithmChanged',
    ],
    [
      'reissues when the lifetime changes',
      { demand: { ...demand, settings: { ...demand.settings, lifetimeMs: 12 * HOUR } } },
      'issue:LifetimeChanged',
    ],
    ['deletes the Secret when no selected pod uses it', { demand: undefined }, 'delete:NotSelected'],
    ['does nothing without demand or Secret', { demand: undefined, existing: undefined }, 'none'],
  ];
  for (const [name, over, want] of cases) {
    it(name, () => {
      const plan = planIdentity(input(over));
      const got =
        plan.action === 'issue' || plan.action === 'delete' ? `${plan.action}:${plan.reason}` : plan.action;
      assert.equal(got, want);
    });
  }

  it('keeps until the renewal time and says when that is', () => {
    const plan = planIdentity(input());
    assert.equal(plan.action, 'keep');
    if (plan.action !== 'keep') return;
    const base = issuedAt.getTime() + 16 * HOUR;
    assert.ok(plan.renewAt.getTime() <= base && plan.renewAt.getTime() >= base - 0.8 * HOUR);
  });
});

describe('renewal jitter', () => {
  it('brings renewal forward by at most 10% of renewBefore', () => {
    for (const serial of ['1', '2', 'abc', 'ffff', '7e57']) {
      const j = renewalJitterMs(serial, 8 * HOUR);
      assert.ok(j >= 0 && j <= 0.8 * HOUR, `${serial}: ${j}`);
    }
  });
  it('never brings it forward by more than an hour', () => {
    for (const serial of ['1', '2', 'abc', 'ffff']) assert.ok(renewalJitterMs(serial, 720 * HOUR) <= HOUR);
  });
  it('is the same for the same serial (every replica and restart agrees)', () =>
    assert.equal(renewAt(issuedAt, 'abc', HOUR).getTime(), renewAt(issuedAt, 'abc', HOUR).getTime()));
  it('spreads different serials apart', () => {
    const times = new Set(['a', 'b', 'c', 'd', 'e', 'f'].map((s) => renewalJitterMs(s, 8 * HOUR)));
    assert.ok(times.size >= 5);
  });
});
