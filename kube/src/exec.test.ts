import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExecCredential, runExecPlugin } from './exec.ts';
import type { ExecConfig } from './kubeconfig.ts';

const config: ExecConfig = {
  apiVersion: 'client.authentication.k8s.io/v1',
  command: 'plugin',
  args: [],
  env: [],
  provideClusterInfo: false,
};
const answer = (status: Record<string, unknown>, apiVersion = config.apiVersion): string =>
  JSON.stringify({ apiVersion, kind: 'ExecCredential', status });

describe('parseExecCredential', () => {
  const good: [string, string, Record<string, unknown>][] = [
    ['reads a token without expiry', answer({ token: 't' }), { token: 't' }],
    [
      'reads a token and when it expires',
      answer({ token: 't', expirationTimestamp: '2026-11-28T01:00:00Z' }),
      { token: 't', expiresAt: Date.parse('2026-11-28T01:00:00Z') },
    ],
    [
      'reads a client certificate and key',
      answer({ clientCertificateData: 'C', clientKeyData: 'K' }),
      { clientCertificateData: 'C', clientKeyData: 'K' },
    ],
  ];
  for (const [name, stdout, want] of good)
    it(name, () => assert.deepEqual(parseExecCredential(config, stdout), want));

  const bad: [string, string, RegExp][] = [
    ['refuses output that is not JSON', 'token: t', /not JSON/],
    [
      'refuses an answer of another apiVersion',
      answer({ token: 't' }, 'client.authentication.k8s.io/v1beta1'),
      /ExecCredential of client.authentication.k8s.io\/v1/,
    ],
    [
      'refuses an answer with neither a token nor a certificate',
      answer({ clientCertificateData: 'C' }),
      /neither a token nor/,
    ],
    [
      'refuses an expiry that is not a time',
      answer({ token: 't', expirationTimestamp: 'soon' }),
      /is not a time/,
    ],
  ];
  for (const [name, stdout, message] of bad)
    it(name, () =>
      assert.throws(() => parseExecCredential(config, stdout), { code: 'ACP_ERR_KUBE_CREDENTIALS', message }),
    );
});

describe('runExecPlugin', () => {
  it('runs the plugin with its args, its env and KUBERNETES_EXEC_INFO, and reads its answer', async () => {
    const plugin = join(mkdtempSync(join(tmpdir(), 'acp-exec-')), 'plugin');
    // prints a token made of its argument, its env variable and whether it was told it is not interactive
    writeFileSync(
      plugin,
      [
        '#!/bin/sh',
        'case "$KUBERNETES_EXEC_INFO" in *\'"interactive":false\'*) i=noninteractive;; *) i=interactive;; esac',
        'printf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s-%s"}}\' "$1" "$A" "$i"',
        '',
      ].join('\n'),
    );
    chmodSync(plugin, 0o755);
    const cred = await runExecPlugin()(
      { ...config, command: plugin, args: ['arg'], env: [{ name: 'A', value: 'env' }] },
      { server: 'https://127.0.0.1:1', skipTLSVerify: false },
    );
    assert.deepEqual(cred, { token: 'arg-env-noninteractive' });
  });

  it('says which plugin failed and what it printed on stderr', async () => {
    await assert.rejects(
      runExecPlugin()(
        { ...config, command: 'sh', args: ['-c', 'echo denied >&2; exit 3'] },
        {
          server: 'https://127.0.0.1:1',
          skipTLSVerify: false,
        },
      ),
      { code: 'ACP_ERR_KUBE_CREDENTIALS', message: /exec plugin sh: failed: .*denied/ },
    );
  });
});
