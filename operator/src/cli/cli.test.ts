// The real `acp` CLI, spawned as a process: on every example in
// crds/examples and on bad input, checking exit codes and output.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { validateSidecarConfig } from '@acp/crds';
import { BAD, base, UNENFORCEABLE } from '@acp/crds/testdata/bad-policies';
import { anEcKey } from '../testing/builders.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const main = join(import.meta.dirname, 'main.ts');
const examplesDir = join(root, 'crds', 'examples');
const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const tmp = mkdtempSync(join(tmpdir(), 'acp-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function acp(args: string[], input?: string): Run {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: root, encoding: 'utf8', input: input ?? '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const example = (f: string) => join('crds', 'examples', f);
const nameOf = (f: string) =>
  (parse(readFileSync(join(examplesDir, f), 'utf8')) as { metadata: { name: string } }).metadata.name;
const usesJwksUri = (f: string) => readFileSync(join(examplesDir, f), 'utf8').includes('jwksUri:');

function writeTmp(name: string, content: string): string {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
}

describe('acp validate', () => {
  for (const f of examples) {
    it(`says ${f} is valid and exits 0`, () => {
      const r = acp(['validate', '-f', example(f)]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(r.stdout, `${example(f)}: default/${nameOf(f)} is valid\n`);
    });
  }

  it('validates a whole directory', () => {
    const r = acp(['validate', '-f', 'crds/examples']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, examples.length);
  });

  it('refuses every bad policy the apiserver refuses, naming the field, and exits 1', () => {
    const docs = BAD.map(([, mutate], i) => {
      const p = base(`bad-${i}`);
      mutate(p.spec);
      return stringify(p);
    });
    const r = acp(['validate', '-f', writeTmp('bad.yaml', docs.join('---\n'))]);
    assert.equal(r.code, 1);
    const sections = r.stdout.split(/^(?=\S)/m);
    BAD.forEach(([name, , field], i) => {
      const section = sections.find((s) => s.includes(`default/bad-${i} is invalid`));
      assert.ok(section, `${name}: no report in ${r.stdout}`);
      assert.ok(section.includes(`  ${field}`), `${name}: ${field} not named in ${section}`);
    });
  });

  it('refuses every policy the webhook refuses beyond the CRD (the UNENFORCEABLE table), naming the field', () => {
    const docs = UNENFORCEABLE.map(([, mutate], i) => {
      const p = base(`unenforceable-${i}`);
      mutate(p.spec);
      // JSON is YAML too, and keeps an EC key's "y" a string.
      return JSON.stringify(p);
    });
    const r = acp(['validate', '-f', writeTmp('unenforceable.yaml', docs.join('\n---\n'))]);
    assert.equal(r.code, 1, r.stderr);
    const sections = r.stdout.split(/^(?=\S)/m);
    UNENFORCEABLE.forEach(([name, , field, fragment], i) => {
      const section = sections.find((s) => s.includes(`default/unenforceable-${i} is invalid`));
      assert.ok(section, `${name}: no report in ${r.stdout}`);
      assert.ok(
        section.includes(`  ${field}`) && section.includes(fragment),
        `${name}: ${field}, "${fragment}" not in ${section}`,
      );
    });
  });

  it('reports what the operator would refuse beyond the CRD rules', () => {
    const p = base('shadow');
    p.spec['jwt'].rules = [{ paths: ['/v1/*'], public: true }, { paths: ['/v1/admin'] }];
    const r = acp(['validate', '-f', writeTmp('shadow.yaml', stringify(p))]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /spec\.jwt\.rules\[1\]\.paths\[0\]: "\/v1\/admin" is never reached/);
  });

  it('reads multi-document YAML from stdin, skipping other kinds', () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${readFileSync(join(examplesDir, 'pci-dss-payments.yaml'), 'utf8')}`;
    const r = acp(['validate', '-f', '-'], text);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '-#2: default/payments is valid\n');
    assert.match(r.stderr, /skipped -#1: ConfigMap/);
  });

  it('names the namespace given with -n', () => {
    const r = acp(['validate', '-n', 'payments', '-f', example('pci-dss-payments.yaml')]);
    assert.match(r.stdout, /payments\/payments is valid/);
  });

  it('exits 1 on a file that is not YAML', () => {
    const r = acp(['validate', '-f', writeTmp('broken.yaml', 'spec: [1, 2\n')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /broken\.yaml: not valid YAML/);
  });

  it('reads YAML as kubectl does (1.1): a bare y key of an EC JWK is the boolean true, with a hint', () => {
    const text = readFileSync(join(examplesDir, 'pci-dss-payments.yaml'), 'utf8').replace('"y": ', 'y: ');
    const r = acp(['validate', '-f', writeTmp('bare-y.yaml', text)]);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /member "y" must be a base64url string \(quote the key in YAML: "y": \.\.\., since YAML 1\.1 reads y as true\)/,
    );
  });

  it('exits 1 on a file without any policy', () => {
    const r = acp(['validate', '-f', writeTmp('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\n')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout + r.stderr, /no ApiCompliancePolicy found/);
  });
});

describe('acp compile', () => {
  for (const f of examples) {
    it(`prints the sidecar configuration of ${f} and exits 0`, () => {
      const r = acp(['compile', '-f', example(f), '--allow-missing-jwks']);
      assert.equal(r.code, 0, r.stderr);
      const config: unknown = JSON.parse(r.stdout);
      assert.equal(validateSidecarConfig(config).ok, true);
      assert.equal((config as { policy: { name: string } }).policy.name, nameOf(f));
      if (usesJwksUri(f)) assert.match(r.stderr, /warning: .* compiled with no keys/);
    });
  }

  it('refuses a jwksUri provider without keys, saying how to pass them, and exits 1', () => {
    const r = acp(['compile', '-f', example('soc2-internal-api.yaml')]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /provider platform: no keys were supplied .* \(pass --jwks platform=keys\.json/);
  });

  it('embeds the keys passed with --jwks', () => {
    const key = anEcKey('platform-1');
    const file = writeTmp('jwks.json', JSON.stringify({ keys: [key] }));
    const r = acp(['compile', '-f', example('soc2-internal-api.yaml'), '--jwks', `platform=${file}`]);
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout);
    assert.deepEqual(
      config.jwt.providers[0].jwks.keys.map((k: { kid: string }) => k.kid),
      ['platform-1'],
    );
  });

  it('refuses a --jwks file with a private key, naming the provider', () => {
    const file = writeTmp('private.json', JSON.stringify({ keys: [{ ...anEcKey('p'), d: 'c2VjcmV0' }] }));
    const r = acp(['compile', '-f', example('soc2-internal-api.yaml'), '--jwks', `platform=${file}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /provider platform: key 0 \(kid "p"\): holds private key material/);
  });

  it('refuses --jwks for a provider no policy fetches from a jwksUri', () => {
    const file = writeTmp('k.json', JSON.stringify({ keys: [anEcKey()] }));
    const r = acp(['compile', '-f', example('pci-dss-payments.yaml'), '--jwks', `corp=${file}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no policy has a jwksUri provider named corp/);
  });

  it('uses the trust domain given', () => {
    const r = acp(['compile', '-f', example('pci-dss-payments.yaml'), '--trust-domain', 'prod.example']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).mtls.allowedPeers[0], 'spiffe://prod.example/ns/shop/sa/checkout');
  });

  it('names the operator’s prober in mtls.probePeers, in the operator’s namespace and trust domain', () => {
    const r = acp([
      'compile',
      '-f',
      example('pci-dss-payments.yaml'),
      '--trust-domain',
      'prod.example',
      '--operator-namespace',
      'security',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).mtls.probePeers, [
      'spiffe://prod.example/ns/security/sa/acp-prober',
    ]);
  });

  it('prints a JSON array for several policies', () => {
    const r = acp([
      'compile',
      '-f',
      example('pci-dss-payments.yaml'),
      '-f',
      example('nist-800-52r2-federal.yaml'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).length, 2);
  });
});

describe('acp check', () => {
  // The audit-mode rollout example fails the controls that need enforcement, by design.
  const expected = (f: string) => (f === 'audit-mode-rollout.yaml' ? 1 : 0);
  for (const f of examples) {
    it(`reports the compliance of ${f} and exits ${expected(f)}`, () => {
      const r = acp(['check', '-f', example(f)]);
      assert.equal(r.code, expected(f), r.stderr + r.stdout);
      assert.match(
        r.stdout,
        new RegExp(`default/${nameOf(f)}: ${expected(f) === 0 ? 'Compliant' : 'Not compliant'}`),
      );
      assert.match(r.stdout, /^PROFILE +CONTROL +STATUS +TITLE$/m);
    });
  }

  it('names the failing controls in Audit mode', () => {
    const r = acp(['check', '-f', example('audit-mode-rollout.yaml')]);
    assert.match(r.stdout, /SOC2 +CC6\.1 +Fail/);
    assert.match(r.stdout, /mode is Audit/);
  });

  it('prints status.compliance as JSON with -o json', () => {
    const r = acp(['check', '-f', example('hipaa-patient-records.yaml'), '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.policies[0].compliance.profiles[0].name, 'HIPAA');
    assert.equal(out.policies[0].condition.reason, 'AllControlsPass');
  });

  it('checks the profile asked for instead of spec.profiles, and exits 1 when a control fails', () => {
    const r = acp(['check', '-f', example('pci-dss-payments.yaml'), '--profile', 'NIST-800-52r2']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /NIST-800-52r2 +3\.3\.1 +Fail/);
    assert.match(r.stdout, /ChaCha20-Poly1305 is not on the SP 800-52r2 lists/);
  });

  it('exits 1 on an invalid policy, naming the field', () => {
    const p = base('bad');
    p.spec['upstream'] = { port: 15021 };
    const r = acp(['check', '-f', writeTmp('bad-check.yaml', stringify(p))]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /spec\.upstream\.port: /);
  });
});

describe('acp usage', () => {
  const cases: [string, string[], RegExp][] = [
    ['no command', [], /no command given/],
    ['an unknown command', ['lint', '-f', 'x'], /unknown command "lint"/],
    ['a missing file', ['validate', '-f', 'does-not-exist.yaml'], /does-not-exist\.yaml/],
    ['a missing --jwks file', ['compile', '-f', 'crds/examples', '--jwks', 'corp=nope.json'], /nope\.json/],
    ['an unknown option', ['check', '-f', 'x', '--verbose'], /--verbose/],
  ];
  for (const [name, args, message] of cases) {
    it(`exits 2 on ${name}`, () => {
      const r = acp(args);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
    });
  }

  it('prints the usage with --help and exits 0', () => {
    const r = acp(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: acp <command> \[options\]\n {7}kubectl acp <command>/);
  });

  for (const name of ['acp', 'kubectl-acp']) {
    it(`runs as the ${name} bin of the operator package`, () => {
      const bin = join(root, 'node_modules', '.bin', name);
      const env = {
        ...process.env,
        PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
      };
      const r = spawnSync(bin, ['validate', '-f', example('gdpr-customer-profile.yaml')], {
        cwd: root,
        encoding: 'utf8',
        env,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /customer-profile is valid/);
    });
  }
});

describe('acp inject', () => {
  const testdata = join(root, 'webhooks', 'testdata');
  const basic = parse(readFileSync(join(testdata, 'basic.yaml'), 'utf8')) as {
    metadata: { labels: Record<string, string> };
    spec: unknown;
  };
  const golden = parse(readFileSync(join(testdata, 'basic.injected.yaml'), 'utf8')) as {
    metadata: { labels: unknown; annotations: unknown };
    spec: unknown;
  };
  const deployment = stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'payments', namespace: 'shop' },
    spec: {
      selector: { matchLabels: basic.metadata.labels },
      template: { metadata: { labels: basic.metadata.labels }, spec: basic.spec },
    },
  });
  const context = join(testdata, '_context.yaml');

  it("prints a Deployment from stdin with its template injected as the webhook's golden pod, exit 0", () => {
    const r = acp(['inject', '-f', '-', '--policy', context], deployment);
    assert.equal(r.code, 0, r.stderr);
    const out = parse(r.stdout) as { kind: string; spec: { template: unknown } };
    assert.equal(out.kind, 'Deployment');
    assert.deepEqual(out.spec.template, {
      metadata: { labels: golden.metadata.labels, annotations: golden.metadata.annotations },
      spec: golden.spec,
    });
    assert.equal(r.stderr, '-: Deployment shop/payments: injected (policy payments)\n');
  });

  it('prints JSON with -o json', () => {
    const r = acp(['inject', '-f', '-', '--policy', context, '-o', 'json'], deployment);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { kind: string }).kind, 'Deployment');
  });

  it('prints the skip reason code on stderr when the webhook would skip', () => {
    const r = acp(['inject', '-f', join(testdata, 'host-network.yaml'), '--policy', context]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /: skipped: host_network \(/);
    assert.match(r.stdout, /acp.dev\/status: '\{"skipReason":"host_network"\}'/);
  });

  it('says it assumed a policy when given none', () => {
    const r = acp(['inject', '-f', '-'], deployment);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no ApiCompliancePolicy given \(--policy FILE\)/);
    assert.match(r.stdout, /name: acp-config-assumed-policy/);
  });

  it('uses the sidecar settings of --injection-config (the chart format)', () => {
    const file = writeTmp(
      'injection.json',
      JSON.stringify({ image: 'registry.local/acp:9', proxyEnv: false }),
    );
    const r = acp(['inject', '-f', '-', '--injection-config', file], deployment);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /image: registry.local\/acp:9/);
    assert.doesNotMatch(r.stdout, /HTTP_PROXY/);
  });

  it('exits 1 on a bad --injection-config, naming the field', () => {
    const file = writeTmp('bad-injection.json', JSON.stringify({ imagePullPolicy: 'Sometimes' }));
    const r = acp(['inject', '-f', '-', '--injection-config', file], deployment);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /imagePullPolicy must be Always, IfNotPresent or Never/);
  });

  it('exits 1 when the input holds no workload', () => {
    const r = acp(['inject', '-f', example('gdpr-customer-profile.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no workload/);
  });
});
