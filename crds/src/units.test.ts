import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDurationMs, parseByteQuantity, parseDurationMs } from './units.ts';

describe('parseDurationMs', () => {
  const cases: [string, string, number][] = [
    ['hours are parsed', '24h', 86_400_000],
    ['compound durations add up', '1h30m', 5_400_000],
    ['fractions are allowed', '1.5s', 1500],
    ['milliseconds are parsed', '250ms', 250],
  ];
  for (const [name, input, want] of cases) it(name, () => assert.equal(parseDurationMs(input), want));

  for (const bad of ['', '24', 'h', '-1h', '1d', '1h 30m']) {
    it(`refuses "${bad}" with ACP_ERR_INVALID_DURATION`, () =>
      assert.throws(() => parseDurationMs(bad), { code: 'ACP_ERR_INVALID_DURATION' }));
  }
  it('formats back to the shortest Go-like form', () => {
    assert.equal(formatDurationMs(8 * 3_600_000), '8h');
    assert.equal(formatDurationMs(90_000), '1m30s');
    assert.equal(formatDurationMs(0), '0s');
  });
});

describe('parseByteQuantity', () => {
  const cases: [string, number | string, number][] = [
    ['binary suffixes are powers of two', '2Mi', 2 * 1024 * 1024],
    ['Ki is 1024', '16Ki', 16384],
    ['decimal suffixes are powers of ten', '1M', 1_000_000],
    ['plain numbers in strings are bytes', '1048576', 1_048_576],
    ['integers are bytes', 4096, 4096],
    ['fractions that give whole bytes are fine', '0.5Ki', 512],
  ];
  for (const [name, input, want] of cases) it(name, () => assert.equal(parseByteQuantity(input), want));
  for (const bad of ['2MB', 'lots', '-1', '1.5']) {
    it(`refuses "${bad}"`, () =>
      assert.throws(() => parseByteQuantity(bad), { code: 'ACP_ERR_INVALID_QUANTITY' }));
  }
  it('refuses negative and fractional numbers', () => {
    assert.throws(() => parseByteQuantity(-1), { code: 'ACP_ERR_INVALID_QUANTITY' });
    assert.throws(() => parseByteQuantity(1.5), { code: 'ACP_ERR_INVALID_QUANTITY' });
  });
});
