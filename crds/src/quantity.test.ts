import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareQuantities,
  isQuantity,
  parseQuantity,
  quantityAsInteger,
  quantityIsInteger,
  quantityToBytes,
} from './quantity.ts';

describe('parseQuantity', () => {
  const integers: [string, string, bigint][] = [
    ['binary suffixes are powers of two', '2Mi', 2n * 1024n * 1024n],
    ['Ki is 1024', '16Ki', 16384n],
    ['k is 1000', '5k', 5000n],
    ['E is 10^18', '1E', 10n ** 18n],
    ['a fraction with a binary suffix can be whole', '1.5Ki', 1536n],
    ['an exponent scales by powers of ten', '1e3', 1000n],
    ['a negative exponent can still be whole', '12000e-3', 12n],
    ['plain digits are the value', '1048576', 1048576n],
    ['zero is a quantity', '0', 0n],
    ['a sign is allowed', '-5', -5n],
  ];
  for (const [name, input, want] of integers) {
    it(name, () => {
      const q = parseQuantity(input);
      assert.ok(q);
      assert.equal(quantityAsInteger(q), want);
    });
  }

  it('keeps milli-units exact and says they are not integers', () => {
    const q = parseQuantity('500m');
    assert.ok(q);
    assert.equal(quantityIsInteger(q), false);
    assert.throws(() => quantityAsInteger(q), { code: 'ACP_ERR_INVALID_QUANTITY' });
  });

  for (const bad of ['', 'lots', '1 Mi', 'Mi', '1K', '1.2.3', '0x10', '1Mi2', '--1']) {
    it(`says "${bad}" is not a quantity`, () => assert.equal(isQuantity(bad), false));
  }

  it('compares exactly across suffixes', () => {
    assert.equal(compareQuantities(parseQuantity('1Ki')!, parseQuantity('1024')!), 0);
    assert.equal(compareQuantities(parseQuantity('1k')!, parseQuantity('1Ki')!), -1);
    assert.equal(compareQuantities(parseQuantity('10Mi')!, parseQuantity('10M')!), 1);
  });

  it('refuses integers beyond int64 in asInteger', () => {
    assert.throws(() => quantityAsInteger(parseQuantity('16Ei')!), { code: 'ACP_ERR_INVALID_QUANTITY' });
  });
});

describe('quantityToBytes', () => {
  it('accepts numbers and quantity strings', () => {
    assert.equal(quantityToBytes(2048), 2048);
    assert.equal(quantityToBytes('2Mi'), 2097152);
    assert.equal(quantityToBytes('1e6'), 1_000_000);
  });
  for (const bad of [1.5, -1, '500m', '-1Ki', 'lots']) {
    it(`refuses ${JSON.stringify(bad)} with ACP_ERR_INVALID_QUANTITY`, () =>
      assert.throws(() => quantityToBytes(bad), { code: 'ACP_ERR_INVALID_QUANTITY' }));
  }
});
