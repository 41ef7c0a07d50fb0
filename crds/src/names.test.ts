import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedName, identitySecretName, labelValue, parseWorkloadSpiffeId, spiffeId } from './names.ts';

describe('names', () => {
  it('builds the SPIFFE ID of a workload', () =>
    assert.equal(
      spiffeId('cluster.local', 'shop', 'checkout'),
      'spiffe://cluster.local/ns/shop/sa/checkout',
    ));
  it('parses a workload SPIFFE ID back', () =>
    assert.deepEqual(parseWorkloadSpiffeId('spiffe://cluster.local/ns/shop/sa/checkout'), {
      trustDomain: 'cluster.local',
      namespace: 'shop',
      serviceAccount: 'checkout',
    }));
  for (const bad of [
    'spiffe://cluster.local/ns/shop',
    'spiffe://cluster.local/ns/shop/sa/checkout/extra',
    'https://cluster.local/ns/shop/sa/checkout',
    'spiffe://Cluster.local/ns/shop/sa/checkout',
    'spiffe://cluster.local/ns/../sa/checkout',
  ]) {
    it(`does not parse ${bad} as a workload identity`, () => assert.equal(parseWorkloadSpiffeId(bad), null));
  }
  it('keeps short names as they are', () =>
    assert.equal(identitySecretName('checkout'), 'acp-identity-checkout'));
  it('bounds long names deterministically with a hash', () => {
    const long = 'a'.repeat(300);
    const a = boundedName('acp-identity-', long);
    assert.equal(a.length <= 253, true);
    assert.equal(a, boundedName('acp-identity-', long));
    assert.notEqual(a, boundedName('acp-identity-', `${long}b`));
  });
  it('bounds label values to 63 characters', () =>
    assert.equal(labelValue('x'.repeat(100)).length <= 63, true));
});
