import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationFlag, parseFlags, type FlagSpec } from './flags.ts';

const SPEC: Record<string, FlagSpec> = {
  port: { type: 'string' },
  san: { type: 'string', repeatable: true },
  quiet: { type: 'boolean' },
};
const ctx = { code: 'ACP_ERR_USAGE', usage: 'usage: x [flags]' };

describe('parseFlags', () => {
  it('reads --flag value, --flag=value, repeatable flags in order and booleans', () => {
    const f = parseFlags(['--port', '1', '--san=a', '--san', 'b', '--quiet'], SPEC, ctx);
    assert.equal(f.one('port'), '1');
    assert.deepEqual(f.many('san'), ['a', 'b']);
    assert.equal(f.on('quiet'), true);
  });
  it('gives undefined, an empty list and false for flags not given', () => {
    const f = parseFlags([], SPEC, ctx);
    assert.deepEqual([f.one('port'), f.many('san'), f.on('quiet')], [undefined, [], false]);
  });
  const bad: [string, string[], RegExp][] = [
    ['an unknown flag', ['--nope'], /^unknown flag --nope\nusage: x/],
    ['an unknown flag with a value', ['--nope=1'], /^unknown flag --nope\n/],
    ['a short flag', ['-p', '1'], /^unknown flag -p\n/],
    ['a positional argument', ['serve'], /^unexpected argument "serve"/],
    ['a string flag without a value', ['--port'], /^--port: needs a value/],
    ['a string flag followed by another flag', ['--port', '--quiet'], /^--port: needs a value/],
    ['a value given to a boolean', ['--quiet=yes'], /^--quiet: takes no value/],
    ['a single-valued flag given twice', ['--port=1', '--port', '2'], /^--port: given twice/],
    ['a boolean given twice', ['--quiet', '--quiet'], /^--quiet: given twice/],
  ];
  for (const [name, argv, message] of bad) {
    it(`refuses ${name}, naming the flag`, () =>
      assert.throws(() => parseFlags(argv, SPEC, ctx), { code: 'ACP_ERR_USAGE', message }));
  }
});

describe('durationFlag (Go durations, the grammar of the policy fields)', () => {
  const good: [string, number][] = [
    ['90s', 90_000],
    ['10m', 600_000],
    ['720h', 720 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['1500ms', 1500],
    ['1.5h', 90 * 60_000],
  ];
  for (const [value, ms] of good) it(`reads ${value}`, () => assert.equal(durationFlag(ctx, 'd', value), ms));
  const bad: [string, RegExp][] = [
    ['365d', /^--d: "365d" is not a duration.*\(days are not a unit: 365d is 8760h\)/],
    ['10', /^--d: "10" is not a duration/],
    ['1y', /^--d: "1y" is not a duration/],
    ['', /^--d: "" is not a duration/],
    ['-5s', /^--d: "-5s" is not a duration/],
  ];
  for (const [value, message] of bad)
    it(`refuses "${value}", naming the flag`, () =>
      assert.throws(() => durationFlag(ctx, 'd', value), { code: 'ACP_ERR_USAGE', message }));
});
