// ApiCompliancePolicy validation and the serving certificate, through the
// real apiserver: bad policies are refused with the webhook's messages,
// risky ones get admission warnings (printed by kubectl), the caBundle of
// both configurations is written by the webhook's certificate manager,
// and a CA rotation (new CA published first, then served, then the old CA
// retired) keeps admission working with the certificate swapped in place.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { base, UNENFORCEABLE } from '@acp/crds/testdata/bad-policies';
import { createNamespace, kubectl, useCluster, type TestCluster } from '../src/index.ts';
import { eventually, webhookFixture, type WebhookFixture } from './support/webhook-fixture.ts';

type Obj = Record<string, any>;

function policy(name: string, namespace: string, selector: Obj, spec: Obj = {}): Obj {
  return {
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name, namespace },
    spec: { selector, upstream: { port: 8080 }, ...spec },
  };
}

function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new X509Certificate(raw));
    });
    socket.on('error', reject);
  });
}

function bundle(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (p) => new X509Certificate(p),
  );
}

describe('policy validation webhook and serving certificate on a real apiserver', () => {
  let cluster: TestCluster;
  let fx: WebhookFixture;
  let ns: string;

  const apply = (obj: Obj, verb = 'create') => kubectl(cluster, [verb, '-f', '-'], stringify(obj));
  const cached = (namespace: string, name: string) =>
    eventually(`${namespace}/${name} is in the webhook's cache`, () =>
      fx.webhook!.view.policiesIn(namespace).some((p) => p.name === name),
    );

  before(async () => {
    cluster = await useCluster();
    fx = await webhookFixture(cluster);
    ns = await createNamespace(cluster, 'wh-policy', fx.labels());
    await fx.start();
    const r = await apply(policy('payments', ns, { matchLabels: { app: 'payments' } }));
    assert.equal(r.code, 0, r.stderr);
    await cached(ns, 'payments');
  });
  after(async () => fx?.cleanup());

  const refused: [string, () => Obj, RegExp[]][] = [
    [
      'a selector identical to another policy’s',
      () => policy('copy', ns, { matchLabels: { app: 'payments' } }),
      [
        /denied the request/,
        /overlaps ApiCompliancePolicy "payments": it has the same selection/,
        /exactly one policy/,
      ],
    ],
    [
      'a selector contained in another policy’s',
      () => policy('narrow', ns, { matchLabels: { app: 'payments', tier: 'web' } }),
      [/every pod "narrow" selects is also selected by "payments"/],
    ],
    [
      'an empty selector next to another policy',
      () => policy('everything', ns, {}),
      [/every pod "payments" selects is also selected by "everything"/],
    ],
    [
      'a selector no pod can satisfy',
      () =>
        policy('never', ns, {
          matchLabels: { app: 'x' },
          matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['x'] }],
        }),
      [/spec.selector can never match a pod/],
    ],
    [
      "a policy in the webhook's own namespace",
      () => policy('ops', fx.operatorNamespace, { matchLabels: { app: 'ops' } }),
      [/can never apply: the injector never injects pods in/],
    ],
  ];
  for (const [name, make, messages] of refused) {
    it(`refuses ${name} with a clear message`, async () => {
      const obj = make();
      const r = await apply(obj);
      assert.notEqual(r.code, 0, 'refused');
      for (const m of messages) assert.match(r.stderr, m);
      const stored = await kubectl(cluster, ['get', 'acp', obj.metadata.name, '-n', obj.metadata.namespace]);
      assert.match(stored.stderr, /NotFound/);
    });
  }

  it(`refuses at kubectl apply the ${UNENFORCEABLE.length} unenforceable policies acp validate refuses, naming the field`, async () => {
    const other = await createNamespace(cluster, 'wh-semantic', fx.labels());
    const failures: string[] = [];
    for (const [i, [name, mutate, field, fragment]] of UNENFORCEABLE.entries()) {
      const p = base(`unenforceable-${i}`);
      mutate(p.spec);
      // JSON, not YAML: kubectl reads YAML 1.1, where an EC key's bare `y` means true.
      const r = await kubectl(cluster, ['create', '-n', other, '-f', '-'], JSON.stringify(p));
      if (r.code === 0) failures.push(`${name}: accepted`);
      else if (
        !/denied the request/.test(r.stderr) ||
        !r.stderr.includes(`${field}: `) ||
        !r.stderr.includes(fragment)
      )
        failures.push(`${name}: expected "${field}: " and "${fragment}" in: ${r.stderr.trim()}`);
    }
    assert.deepEqual(failures, []);
    const list = await kubectl(cluster, ['get', 'acp', '-n', other, '-o', 'name']);
    assert.doesNotMatch(list.stdout, /unenforceable-/, 'nothing of a refused policy was stored');
  });

  it('allows a risky policy and prints every warning', async () => {
    const other = await createNamespace(cluster, 'wh-warn', fx.labels());
    const r = await apply(
      policy(
        'loose',
        other,
        {},
        {
          mode: 'Audit',
          mtls: { mode: 'Permissive' },
          jwt: {
            providers: [
              {
                name: 'corp',
                issuer: 'https://idp.example.com/',
                audiences: ['a'],
                jwksUri: 'https://idp.example.com/jwks',
              },
            ],
            rules: [{ paths: ['/healthz'], public: true }],
          },
        },
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    for (const w of [
      /Warning: spec.selector is empty: the policy selects every pod in namespace/,
      /Warning: spec.mode is Audit/,
      /Warning: spec.mtls.mode is Permissive/,
      /Warning: spec.jwt.rules\[0\] is public: \/healthz need no token/,
    ]) {
      assert.match(r.stderr, w);
    }
  });

  it('refuses an update that creates an overlap, and allows other updates', async () => {
    const r = await apply(policy('orders', ns, { matchLabels: { app: 'orders' } }));
    assert.equal(r.code, 0, r.stderr);
    await cached(ns, 'orders');
    const overlap = await apply(policy('orders', ns, { matchLabels: { app: 'payments' } }), 'apply');
    assert.notEqual(overlap.code, 0);
    assert.match(overlap.stderr, /overlaps ApiCompliancePolicy "payments"/);
    const fine = await apply(
      policy('orders', ns, { matchLabels: { app: 'orders' } }, { mode: 'Enforce' }),
      'apply',
    );
    assert.equal(fine.code, 0, fine.stderr);
  });

  it('writes its CA into the caBundle of both configurations and serves a certificate of that CA', async () => {
    const secret = JSON.parse(
      (
        await kubectl(cluster, [
          'get',
          'secret',
          'acp-webhook-serving',
          '-n',
          fx.operatorNamespace,
          '-o',
          'json',
        ])
      ).stdout,
    );
    assert.equal(secret.type, 'kubernetes.io/tls');
    const caPem = Buffer.from(secret.data['ca.crt'], 'base64').toString();
    for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
      const name = kind.startsWith('mutating') ? fx.mutating : fx.validating;
      const cfg = JSON.parse((await kubectl(cluster, ['get', kind, name, '-o', 'json'])).stdout);
      for (const hook of cfg.webhooks) {
        assert.equal(
          Buffer.from(hook.clientConfig.caBundle, 'base64').toString(),
          caPem,
          `${name}/${hook.name}`,
        );
      }
    }
    const served = await servedCertificate(fx.port);
    const [ca] = bundle(caPem);
    assert.ok(served.checkIssued(ca!) && served.verify(ca!.publicKey));
    assert.match(served.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  });

  it('rotates its CA without an admission failure: publish both, serve the new, retire the old', async () => {
    const bundles = async (): Promise<string[][]> => {
      const out: string[][] = [];
      for (const [kind, name] of [
        ['mutatingwebhookconfiguration', fx.mutating],
        ['validatingwebhookconfiguration', fx.validating],
      ] as const) {
        const cfg = JSON.parse((await kubectl(cluster, ['get', kind, name, '-o', 'json'])).stdout);
        for (const h of cfg.webhooks) {
          out.push(
            bundle(Buffer.from(h.clientConfig.caBundle, 'base64').toString()).map((c) => c.fingerprint256),
          );
        }
      }
      return out;
    };
    const admits = async (name: string): Promise<void> => {
      const r = await apply(policy(name, ns, { matchLabels: { app: name } }));
      assert.equal(r.code, 0, `admission works: ${r.stderr}`);
    };
    const [oldCa] = (await bundles())[0]!;
    const oldLeaf = (await servedCertificate(fx.port)).fingerprint256;
    const manager = fx.webhook!.certificates;

    manager.requestCaRotation();
    const first = await manager.reconcile();
    assert.deepEqual(first.steps, ['rotateCa', 'publish', 'markPublished']);
    const both = await bundles();
    assert.ok(
      both.every((b) => b.length === 2 && b.includes(oldCa!)),
      'the new CA is published next to the old one',
    );
    const newCa = both[0]!.find((f) => f !== oldCa)!;
    assert.equal((await servedCertificate(fx.port)).fingerprint256, oldLeaf, 'the old leaf is still served');
    await admits('during-rotation');

    await eventually('a leaf of the new CA is served', async () => {
      await manager.reconcile();
      return (await servedCertificate(fx.port)).fingerprint256 !== oldLeaf;
    });
    await admits('after-new-leaf');

    await eventually('the old CA is retired from every caBundle', async () => {
      await manager.reconcile();
      return (await bundles()).every((b) => b.length === 1 && b[0] === newCa);
    });
    await admits('after-retirement');
  });
});
