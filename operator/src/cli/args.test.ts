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
        namespace: undefined,
        allNamespaces: false,
        kubeconfig: undefined,
        operatorNamespace: 'acp-system',
        caSecret: 'acp-ca',
        policyFiles: [],
        injectionConfig: undefined,
        trustDomain: 'cluster.local',
        jwks: [],
        allowMissingJwks: false,
        profiles: [],
        output: 'table',
        outDir: undefined,
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
      allNamespaces: false,
      kubeconfig: undefined,
      operatorNamespace: 'acp-system',
      caSecret: 'acp-ca',
      policyFiles: [],
      injectionConfig: undefined,
      trustDomain: 'mesh.example',
      jwks: [
        { provider: 'corp', file: 'keys.json' },
        { provider: 'other', file: 'a=b.json' },
      ],
      allowMissingJwks: true,
      profiles: ['HIPAA', 'SOC2'],
      output: 'json',
      outDir: undefined,
    });
  });

  const defaults: [string, string[], Partial<Record<string, unknown>>][] = [
    [
      'status takes no files and leaves the namespace to the kubeconfig context',
      ['status'],
      { command: 'status', files: [], namespace: undefined, allNamespaces: false, output: 'table' },
    ],
    ['status -A shows every namespace', ['status', '-A'], { allNamespaces: true }],
    [
      'status reads -n, --kubeconfig, --operator-namespace and -o json',
      [
        'status',
        '-n',
        'shop',
        '--kubeconfig',
        '/k',
        '--operator-namespace',
        'ops',
        '--ca-secret',
        'my-ca',
        '-o',
        'json',
      ],
      { namespace: 'shop', kubeconfig: '/k', operatorNamespace: 'ops', caSecret: 'my-ca', output: 'json' },
    ],
    [
      'inject prints YAML by default and reads --policy (repeatable) and --injection-config',
      ['inject', '-f', 'd.yaml', '--policy', 'a.yaml', '--policy', 'b.yaml', '--injection-config', 'i.json'],
      {
        command: 'inject',
        files: ['d.yaml'],
        policyFiles: ['a.yaml', 'b.yaml'],
        injectionConfig: 'i.json',
        output: 'yaml',
      },
    ],
    ['inject can print JSON', ['inject', '-f', '-', '-o', 'json'], { output: 'json' }],
    [
      'inject takes --operator-namespace (never injected)',
      ['inject', '-f', '-', '--operator-namespace', 'ops'],
      { operatorNamespace: 'ops' },
    ],
  ];
  for (const [name, argv, expected] of defaults) {
    it(name, () => {
      const r = parseCliArgs(argv);
      assert.ok(r.ok, r.ok ? '' : r.message);
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(r.args[k as keyof typeof r.args], v, k);
    });
  }

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
      /-o yaml: check prints table or json/,
    ],
    ['refuses files for status, which reads the cluster', ['status', '-f', 'a'], /takes no -f/],
    ['refuses inject without files', ['inject'], /inject needs at least one -f FILE/],
    [
      'refuses -A outside status',
      ['inject', '-f', 'a', '-A'],
      /-A is an option of status, report, not inject/,
    ],
    ['refuses -A together with -n', ['status', '-A', '-n', 'shop'], /-A and -n exclude each other/],
    [
      'refuses --kubeconfig for an offline command',
      ['check', '-f', 'a', '--kubeconfig', 'k'],
      /--kubeconfig/,
    ],
    [
      'refuses --ca-secret outside status',
      ['inject', '-f', 'a', '--ca-secret', 'x'],
      /--ca-secret is an option of status/,
    ],
    ['refuses --policy outside inject', ['status', '--policy', 'p.yaml'], /--policy is an option of inject/],
    [
      'refuses --operator-namespace for validate, which compiles nothing',
      ['validate', '-f', 'a', '--operator-namespace', 'ops'],
      /--operator-namespace is an option of compile, check, status, inject, not validate/,
    ],
    [
      'refuses --injection-config outside inject',
      ['validate', '-f', 'a', '--injection-config', 'i.json'],
      /--injection-config is an option of inject/,
    ],
    ['refuses a table for inject', ['inject', '-f', 'a', '-o', 'table'], /inject prints yaml or json/],
    ['refuses yaml for status', ['status', '-o', 'yaml'], /status prints table or json/],
    ['refuses a --jwks without a file', ['compile', '-f', 'a', '--jwks', 'corp'], /expected PROVIDER=FILE/],
    ['refuses an unknown profile', ['check', '-f', 'a', '--profile', 'ISO27001'], /--profile ISO27001/],
    [
      'refuses a table for report',
      ['report', '-o', 'table'],
      /report prints json or markdown or html or oscal/,
    ],
    [
      'refuses --out-dir outside report',
      ['check', '-f', 'a', '--out-dir', 'x'],
      /--out-dir is an option of report/,
    ],
    ['refuses -A with report -f', ['report', '-f', 'acp.yaml', '-A'], /report -f reads files/],
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
