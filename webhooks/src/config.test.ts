import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from './config.ts';
import { DEFAULT_INJECTION_CONFIG, parseInjectionConfig } from './inject/config.ts';

describe('parseConfig', () => {
  it('defaults: port 9443, the operator namespace, the contract names, Service DNS SANs', () => {
    const c = parseConfig([], {});
    assert.equal(c.port, 9443);
    assert.equal(c.namespace, 'acp-system');
    assert.deepEqual(c.mutatingConfigurations, ['acp-sidecar-injector']);
    assert.deepEqual(c.validatingConfigurations, ['acp-policy-validator']);
    assert.deepEqual(c.excludedNamespaces, ['kube-system', 'kube-node-lease', 'acp-system']);
    assert.ok(c.certificates.sans.includes('DNS:acp-webhook.acp-system.svc'));
  });

  it('reads the namespace from POD_NAMESPACE and flags win', () => {
    assert.equal(parseConfig([], { POD_NAMESPACE: 'sec' }).namespace, 'sec');
    assert.equal(parseConfig(['--namespace', 'x'], { POD_NAMESPACE: 'sec' }).namespace, 'x');
  });

  it('accepts repeatable flags and durations', () => {
    const c = parseConfig(
      ['--ip-san=127.0.0.1', '--ip-san', '::1', '--cert-lifetime=48h', '--propagation=1500ms'],
      {},
    );
    assert.ok(c.certificates.sans.includes('IP:127.0.0.1') && c.certificates.sans.includes('IP:::1'));
    assert.equal(c.certificates.leafLifetimeMs, 48 * 3_600_000);
    assert.equal(c.certificates.leafRenewBeforeMs, 16 * 3_600_000);
    assert.equal(c.certificates.propagationMs, 1500);
  });

  it('reads Go durations, the grammar of the policy fields', () => {
    const c = parseConfig(['--ca-lifetime', '8760h', '--retire-grace=1h30m'], {});
    assert.equal(c.certificates.caLifetimeMs, 8760 * 3_600_000);
    assert.equal(c.certificates.retireGraceMs, 90 * 60_000);
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown flag is refused', ['--nope=1'], /^unknown flag --nope/],
    ['a positional argument is refused', ['start'], /^unexpected argument "start"/],
    ['a port out of range is refused', ['--port=70000'], /^--port: "70000" is not a port number/],
    ['a flag without value is refused', ['--port'], /^--port: needs a value/],
    ['a bad duration is refused', ['--ca-lifetime=1y'], /^--ca-lifetime: "1y" is not a duration/],
    [
      'days are refused, with the hours to write instead',
      ['--ca-lifetime=365d'],
      /^--ca-lifetime: "365d" is not a duration.*365d is 8760h/,
    ],
    ['a single-valued flag given twice is refused', ['--port=1', '--port=2'], /^--port: given twice/],
  ];
  for (const [name, argv, re] of bad) {
    it(name, () => assert.throws(() => parseConfig(argv, {}), { code: 'ACP_ERR_USAGE', message: re }));
  }
});

describe('parseInjectionConfig', () => {
  it('missing settings take the defaults', () => {
    assert.deepEqual(parseInjectionConfig(undefined), DEFAULT_INJECTION_CONFIG);
    assert.deepEqual(parseInjectionConfig({}), DEFAULT_INJECTION_CONFIG);
  });

  it('reads the chart values and turns numbers into quantities', () => {
    const c = parseInjectionConfig({
      image: 'img:2',
      resources: { requests: { cpu: 1 } },
      runAsUser: 1000,
      proxyEnv: false,
    });
    assert.equal(c.image, 'img:2');
    assert.deepEqual(c.resources, { requests: { cpu: '1' } });
    assert.equal(c.runAsUser, 1000);
    assert.equal(c.proxyEnv, false);
  });

  const bad: [string, unknown, RegExp][] = [
    ['root as the sidecar user is refused', { runAsUser: 0 }, /non-root/],
    ['an unknown pull policy is refused', { imagePullPolicy: 'Sometimes' }, /imagePullPolicy/],
    [
      'a command that is not a list of strings is refused',
      { command: 'node main.ts' },
      /command must be a list/,
    ],
    ['an empty image is refused', { image: '' }, /image must be a non-empty string/],
  ];
  for (const [name, input, re] of bad) {
    it(name, () =>
      assert.throws(() => parseInjectionConfig(input), { code: 'ACP_ERR_WEBHOOK_CONFIG', message: re }),
    );
  }
});
