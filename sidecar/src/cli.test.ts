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
  const bad: [string, string[]][] = [
    ['refuses an unknown flag', ['--port', '1']],
    ['refuses a flag without its value', ['--config']],
    ['refuses zero workers', ['--workers', '0']],
    ['refuses a value given to --no-http-fast-path', ['--no-http-fast-path=yes']],
  ];
  for (const [name, argv] of bad) it(name, () => assert.throws(() => parseArgs(argv), /usage/));
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
