import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOperatorConfig } from './config.ts';

describe('parseOperatorConfig', () => {
  it('has production defaults', () => {
    const c = parseOperatorConfig([], { HOSTNAME: 'op-0' });
    assert.equal(c.namespace, 'acp-system');
    assert.equal(c.trustDomain, 'cluster.local');
    assert.equal(c.caSecretName, undefined);
    assert.equal(c.leaderElection, true);
    assert.equal(c.identity, 'op-0');
    assert.equal(c.leaseDurationMs, 10_000);
    assert.deepEqual(c.watchNamespaces, []);
  });
  it('lets flags win over the environment', () => {
    const c = parseOperatorConfig(['--namespace', 'ops', '--trust-domain=corp.example'], {
      ACP_NAMESPACE: 'env-ns',
    });
    assert.equal(c.namespace, 'ops');
    assert.equal(c.trustDomain, 'corp.example');
  });
  it('reads the environment', () => {
    const c = parseOperatorConfig([], {
      ACP_CA_SECRET: 'corp-ca',
      POD_NAME: 'pod-7',
      ACP_WATCH_NAMESPACES: 'a, b',
    });
    assert.equal(c.caSecretName, 'corp-ca');
    assert.equal(c.identity, 'pod-7');
    assert.deepEqual(c.watchNamespaces, ['a', 'b']);
  });
  const bad: [string, string[], RegExp][] = [
    ['refuses an unknown flag', ['--bogus', '1'], /unknown flag --bogus/],
    ['refuses a flag without a value', ['--namespace'], /--namespace: needs a value/],
    [
      'refuses a namespace that is not a DNS label',
      ['--namespace', 'Bad_NS'],
      /--namespace: "Bad_NS" is not a namespace name/,
    ],
    [
      'refuses an unknown CA key algorithm',
      ['--ca-key-algorithm', 'DSA'],
      /--ca-key-algorithm: must be one of/,
    ],
    ['refuses a duration without unit', ['--ca-lifetime', '10'], /--ca-lifetime: "10" is not a duration/],
    [
      'refuses days, naming the hours to write instead',
      ['--ca-lifetime', '365d'],
      /--ca-lifetime: "365d" is not a duration.*365d is 8760h/,
    ],
    ['refuses a flag given twice', ['--workers', '2', '--workers=3'], /--workers: given twice/],
    ['refuses a CA lifetime under a day', ['--ca-lifetime', '1h'], /--ca-lifetime: must be at least/],
    [
      'refuses a renew deadline not shorter than the lease',
      ['--lease-duration', '5s', '--renew-deadline', '5s'],
      /--renew-deadline: must be shorter/,
    ],
    ['refuses a port out of range', ['--metrics-port', '70000'], /--metrics-port/],
    [
      'refuses a leader-elect that is not a boolean',
      ['--leader-elect', 'yes'],
      /--leader-elect: must be true or false/,
    ],
    ['refuses a positional argument', ['start'], /unexpected argument "start"/],
  ];
  for (const [name, argv, message] of bad) {
    it(name, () =>
      assert.throws(
        () => parseOperatorConfig(argv, {}),
        (e: unknown) =>
          (e as { code: string }).code === 'ACP_ERR_CONFIG' && message.test((e as Error).message),
      ),
    );
  }
});

describe('parseOperatorConfig: policy flags', () => {
  it('knows every documented flag', () => {
    const c = parseOperatorConfig(
      [
        '--jwks-timeout=2s',
        '--jwks-max-bytes=65536',
        '--jwks-max-keys=8',
        '--jwks-ca-file=/x.pem',
        '--monitoring-namespace-selector=team=obs',
      ],
      {},
    );
    assert.equal(c.jwksTimeoutMs, 2000);
    assert.equal(c.jwksMaxBytes, 65536);
    assert.equal(c.jwksMaxKeys, 8);
    assert.equal(c.jwksCaFile, '/x.pem');
    assert.equal(c.monitoringNamespaceSelector, 'team=obs');
  });
  it('refuses a monitoring selector that is not key=value', () =>
    assert.throws(
      () => parseOperatorConfig(['--monitoring-namespace-selector=obs'], {}),
      /--monitoring-namespace-selector: "obs" is not key=value/,
    ));
});
