import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRuntime, parseArgs } from './cli.ts';

describe('parseArgs', () => {
  it('defaults to the injected container mounts', () => {
    const o = parseArgs([]);
    assert.equal(o.configPath, '/etc/acp/config/sidecar.json');
    assert.equal(o.identityDir, '/var/run/acp/identity');
    assert.equal(o.workers, 1);
    assert.equal(o.httpFastPath, true);
  });
  it('turns the HTTP fast path off with --no-http-fast-path', () => {
    assert.equal(parseArgs(['--no-http-fast-path']).httpFastPath, false);
  });
  it('reads flags with separate and inline values', () => {
    const o = parseArgs(['--config', '/c.json', '--identity-dir=/id', '--workers', '2']);
    assert.deepEqual([o.configPath, o.identityDir, o.workers], ['/c.json', '/id', 2]);
  });
  const bad: [string, string[], RegExp][] = [
    ['refuses an unknown flag', ['--port', '1'], /^unknown flag --port/],
    ['refuses a flag without its value', ['--config'], /^--config: needs a value/],
    ['refuses an empty value', ['--config='], /^--config: needs a value/],
    ['refuses zero workers', ['--workers', '0'], /^--workers: "0" is not a whole number from 1 to 64/],
    [
      'refuses a value given to --no-http-fast-path',
      ['--no-http-fast-path=yes'],
      /^--no-http-fast-path: takes no value/,
    ],
    ['refuses a flag given twice', ['--workers=1', '--workers=2'], /^--workers: given twice/],
    ['refuses a positional argument', ['serve'], /^unexpected argument "serve"/],
  ];
  for (const [name, argv, message] of bad)
    it(name, () => assert.throws(() => parseArgs(argv), { code: 'ACP_ERR_USAGE', message }));
});

describe('checkRuntime', () => {
  const cases: [string, string[], Record<string, string>, boolean][] = [
    ['accepts a normal runtime', [], {}, true],
    ['refuses --insecure-http-parser on the command line', ['--insecure-http-parser'], {}, false],
    [
      'refuses --insecure-http-parser in NODE_OPTIONS',
      [],
      { NODE_OPTIONS: '--max-old-space-size=64 --insecure-http-parser' },
      false,
    ],
    ['refuses NODE_TLS_REJECT_UNAUTHORIZED=0', [], { NODE_TLS_REJECT_UNAUTHORIZED: '0' }, false],
    ['accepts NODE_TLS_REJECT_UNAUTHORIZED=1', [], { NODE_TLS_REJECT_UNAUTHORIZED: '1' }, true],
  ];
  for (const [name, execArgv, env, ok] of cases) {
    it(name, () => {
      if (ok) checkRuntime(execArgv, env);
      else
        assert.throws(
          () => checkRuntime(execArgv, env),
          (e: any) => e.code === 'ACP_ERR_INSECURE_RUNTIME',
        );
    });
  }
});
