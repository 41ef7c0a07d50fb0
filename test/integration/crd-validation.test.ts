// The ApiCompliancePolicy CRD on a real kube-apiserver: every example is
// accepted, bad input is refused at `kubectl apply` with a message that
// names the field, printer columns and `kubectl explain` work.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { BAD, base, type Policy } from '@acp/crds/testdata/bad-policies';
import { createNamespace, kubectl, useCluster, type TestCluster } from '../src/index.ts';

const examples = join(import.meta.dirname, '..', '..', 'crds', 'examples');

describe('ApiCompliancePolicy CRD on a real apiserver', () => {
  let cluster: TestCluster;
  let ns: string;
  before(async () => {
    cluster = await useCluster();
    ns = await createNamespace(cluster, 'crd-validation');
  });

  it('accepts every example in crds/examples', async () => {
    const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 5, 'one example per compliance profile at least');
    for (const f of files) {
      const r = await kubectl(cluster, ['apply', '-n', ns, '-f', join(examples, f)]);
      assert.equal(r.code, 0, `${f}: ${r.stderr}`);
    }
    const profiles = new Set(
      files.flatMap((f) => (parse(readFileSync(join(examples, f), 'utf8')) as Policy).spec['profiles'] ?? []),
    );
    assert.deepEqual([...profiles].sort(), ['GDPR', 'HIPAA', 'NIST-800-52r2', 'PCI-DSS-4.0', 'SOC2']);
  });

  it(`refuses ${BAD.length} kinds of bad input at kubectl apply, naming the field`, async () => {
    assert.ok(BAD.length >= 15);
    const failures: string[] = [];
    for (const [i, [name, mutate, field, fragment]] of BAD.entries()) {
      const policy = base(`bad-${i}`);
      mutate(policy.spec);
      const r = await kubectl(cluster, ['apply', '-n', ns, '-f', '-'], stringify(policy));
      if (r.code === 0) failures.push(`${name}: accepted`);
      else if (!r.stderr.includes(field) || !r.stderr.includes(fragment)) {
        failures.push(`${name}: expected "${field}" and "${fragment}" in: ${r.stderr.trim()}`);
      }
    }
    assert.deepEqual(failures, []);
    const list = await kubectl(cluster, ['get', 'acp', '-n', ns, '-o', 'name']);
    assert.doesNotMatch(list.stdout, /bad-/, 'nothing of a refused policy was stored');
  });

  it('applies the defaults on the server', async () => {
    const r = await kubectl(cluster, ['apply', '-n', ns, '-f', '-'], stringify(base('defaults')));
    assert.equal(r.code, 0, r.stderr);
    const got = await kubectl(cluster, ['get', 'acp', 'defaults', '-n', ns, '-o', 'json']);
    const spec = (JSON.parse(got.stdout) as Policy).spec;
    assert.equal(spec['mode'], 'Enforce');
    assert.equal(spec['tls'].minVersion, 'TLS1.2');
    assert.equal(spec['mtls'].mode, 'Strict');
    assert.equal(spec['limits'].maxRequestBytes, '2Mi');
    assert.deepEqual(spec['jwt'].providers[0].algorithms, ['RS256', 'ES256']);
  });

  it('shows Ready, Compliant, Verified, Mode, Workloads and Age in kubectl get, by short name', async () => {
    for (const short of ['acp', 'acpolicy']) {
      const r = await kubectl(cluster, ['get', short, '-n', ns]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout.split('\n')[0]!,
        /^NAME\s+READY\s+COMPLIANT\s+VERIFIED\s+MODE\s+WORKLOADS\s+AGE\s*$/,
      );
      assert.match(r.stdout, /payments\s+.*Enforce/);
    }
  });

  it('teaches the API through kubectl explain', async () => {
    const r = await kubectl(cluster, ['explain', 'apicompliancepolicy.spec.jwt']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /JWT bearer-token validation/);
    assert.match(r.stdout, /providers\s+<\[\]Object> -required-/);
    const deep = await kubectl(cluster, ['explain', 'acp.spec.jwt.providers.jwksUri']);
    assert.match(deep.stdout, /https URL of the issuer's JSON Web Key Set/);
  });

  it('belongs to the compliance category', async () => {
    const r = await kubectl(cluster, ['get', 'compliance', '-n', ns, '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /apicompliancepolicy.compliance.acp.dev\/payments/);
  });
});
