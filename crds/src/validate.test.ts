import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { fieldPath, validatePolicy, validateSidecarConfig } from './validate.ts';

const root = join(import.meta.dirname, '..');
const minimal = () => ({
  apiVersion: 'compliance.acp.dev/v1alpha1',
  kind: 'ApiCompliancePolicy',
  metadata: { name: 'p' },
  spec: { selector: { matchLabels: { app: 'x' } }, upstream: { port: 8080 } },
});

describe('validatePolicy', () => {
  it('accepts every example in crds/examples', () => {
    const files = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const r = validatePolicy(parse(readFileSync(join(root, 'examples', f), 'utf8')));
      assert.equal(r.ok, true, `${f}: ${JSON.stringify(r.ok ? null : r.errors)}`);
    }
  });
  it('applies the schema defaults like the apiserver does', () => {
    const r = validatePolicy(minimal());
    assert.equal(r.ok, true);
    if (!r.ok) return;
    assert.equal(r.value.spec.mode, 'Enforce');
    assert.equal(r.value.spec.tls?.minVersion, 'TLS1.2');
    assert.equal(r.value.spec.tls?.hsts?.maxAgeSeconds, 31536000);
    assert.equal(r.value.spec.mtls?.mode, 'Strict');
    assert.equal(r.value.spec.limits?.maxRequestBytes, '2Mi');
    assert.equal(r.value.spec.certificates?.lifetime, '24h');
  });
  it('does not modify its input', () => {
    const input = minimal();
    validatePolicy(input);
    assert.equal('mode' in input.spec, false);
  });

  const bad: [string, (p: ReturnType<typeof minimal>) => void, string][] = [
    [
      'refuses TLS1.0 and names spec.tls.minVersion',
      (p) => Object.assign(p.spec, { tls: { minVersion: 'TLS1.0' } }),
      'spec.tls.minVersion',
    ],
    [
      'refuses a CBC suite',
      (p) => Object.assign(p.spec, { tls: { cipherSuites: ['ECDHE-RSA-AES256-SHA384'] } }),
      'spec.tls.cipherSuites[0]',
    ],
    ['refuses an unknown mode', (p) => Object.assign(p.spec, { mode: 'Monitor' }), 'spec.mode'],
    ['refuses an unknown field', (p) => Object.assign(p.spec, { tlsVersion: '1.2' }), 'spec.tlsVersion'],
    ['refuses a missing upstream', (p) => Reflect.deleteProperty(p.spec, 'upstream'), 'spec.upstream'],
    [
      'refuses a negative rate',
      (p) => Object.assign(p.spec, { limits: { rateLimit: { requestsPerSecond: -5 } } }),
      'spec.limits.rateLimit.requestsPerSecond',
    ],
    [
      'refuses a port out of range',
      (p) => Object.assign(p.spec, { upstream: { port: 70000 } }),
      'spec.upstream.port',
    ],
  ];
  for (const [name, mutate, field] of bad) {
    it(name, () => {
      const p = minimal();
      mutate(p);
      const r = validatePolicy(p);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.ok(
        r.errors.some((e) => e.field === field),
        JSON.stringify(r.errors),
      );
    });
  }
});

describe('validateSidecarConfig', () => {
  it('refuses an empty document and names the missing fields', () => {
    const r = validateSidecarConfig({});
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.ok(r.errors.some((e) => e.field === 'apiVersion'));
  });
});

describe('fieldPath', () => {
  it('turns array indexes into brackets', () =>
    assert.equal(fieldPath('/spec/jwt/providers/0/issuer'), 'spec.jwt.providers[0].issuer'));
  it('unescapes JSON pointer escapes', () =>
    assert.equal(fieldPath('/metadata/labels/acp.dev~1x'), 'metadata.labels.acp.dev/x'));
});

describe('generated files', () => {
  it('are up to date with the CRD and the sidecar-config schema', () => {
    execFileSync(process.execPath, [join(root, 'scripts', 'generate.ts'), '--check'], { stdio: 'pipe' });
  });
});
