import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCliArgs } from './args.ts';

describe('parseCliArgs', () => {
  it('reads a command and its files with defaults for the rest', () => {
    assert.deepEqual(parseCliArgs(['validate', '-f', 'a.yaml', '--file', 'b.yaml']), {
      ok: true,
      args: {
        command: 'validate',
        files: ['a.yaml', 'b.yaml'],
        namespace: 'default',
        trustDomain: 'cluster.local',
        jwks: [],
        allowMissingJwks: false,
        profiles: [],
        output: 'table',
      },
    });
  });

  it('reads every option', () => {
    const r = parseCliArgs([
      'check',
      '-f',
      '-',
      '-n',
      'shop',
      '--trust-domain',
      'mesh.example',
      '--jwks',
      'corp=keys.json',
      '--jwks',
      'other=a=b.json',
      '--profile',
      'HIPAA',
      '--profile',
      'SOC2',
      '-o',
      'json',
      '--allow-missing-jwks',
    ]);
    assert.ok(r.ok);
    assert.deepEqual(r.args, {
      command: 'check',
      files: ['-'],
      namespace: 'shop',
      trustDomain: 'mesh.example',
      jwks: [
        { provider: 'corp', file: 'keys.json' },
        { provider: 'other', file: 'a=b.json' },
      ],
      allowMissingJwks: true,
      profiles: ['HIPAA', 'SOC2'],
      output: 'json',
    });
  });

  for (const help of [['--help'], ['-h'], ['help'], ['check', '--help']]) {
    it(`asks for help with ${help.join(' ')}`, () => {
      const r = parseCliArgs(help);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.help, true);
        assert.match(r.message, /^Usage: acp <command>/);
      }
    });
  }

  const bad: [string, string[], RegExp][] = [
    ['refuses no command', [], /no command given/],
    ['refuses an unknown command', ['lint', '-f', 'a'], /unknown command "lint"/],
    ['refuses a command without files', ['validate'], /needs at least one -f FILE/],
    ['refuses a stray positional argument', ['validate', 'a.yaml'], /files are given with -f/],
    ['refuses an unknown option', ['validate', '-f', 'a', '--strict'], /--strict/],
    [
      'refuses an unknown output format',
      ['check', '-f', 'a', '-o', 'yaml'],
      /-o yaml: expected table or json/,
    ],
    ['refuses a --jwks without a file', ['compile', '-f', 'a', '--jwks', 'corp'], /expected PROVIDER=FILE/],
    ['refuses an unknown profile', ['check', '-f', 'a', '--profile', 'ISO27001'], /--profile ISO27001/],
  ];
  for (const [name, argv, message] of bad) {
    it(name, () => {
      const r = parseCliArgs(argv);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.help, false);
        assert.match(r.message, message);
      }
    });
  }
});
