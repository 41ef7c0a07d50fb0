// The mesh CA on a real control plane: a requested root rotation runs end
// to end (both roots in every bundle during the overlap, leaves reissued
// from the new root, the old root dropped once none of its leaves can be
// valid), and a user CA that is not valid is refused without touching the
// certificates already issued.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startOperator, useCluster, type OperatorProcess, type TestCluster } from '../src/index.ts';
import {
  applyPolicy,
  bundleSize,
  createWorkload,
  eventReasons,
  eventually,
  must,
  opensslVerify,
  operatorEnv,
  policyCondition,
  readBundle,
  readIdentity,
  type OperatorEnv,
} from './identity-fixtures.ts';

function dumpOperatorLogs(o: OperatorProcess): void {
  for (const l of o.logs())
    if (l['level'] !== 30 || /CA|rotation|snapshot/.test(String(l['msg'])))
      process.stderr.write(JSON.stringify(l) + '\n');
}

const fingerprints = (pem: string): string[] =>
  (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [])
    .map((c) => new X509Certificate(c).fingerprint256)
    .sort();

describe('operator: CA rotation', () => {
  let cluster: TestCluster;
  let env: OperatorEnv;
  let operator: OperatorProcess;

  before(async () => {
    cluster = await useCluster();
    env = await operatorEnv(cluster, 'rotation');
    operator = await startOperator({
      kubeconfig: env.kubeconfig,
      namespace: env.operatorNamespace,
      watchNamespaces: [env.workloadNamespace],
      identity: 'op-rotation',
      args: ['--bundle-propagation=3s', '--cert-backdate=10s'],
    });
  });
  after(async () => {
    if (process.env['ACP_DEBUG_LOGS']) dumpOperatorLogs(operator);
    await operator?.stop();
  });

  it('rotates the root in phases, keeping both roots trusted during the overlap', async () => {
    const ns = env.workloadNamespace;
    await applyPolicy(cluster, ns, 'p', 'api', { lifetime: '1m', renewBefore: '20s' });
    await createWorkload(cluster, ns, 'api', 'api-1', { app: 'api' });
    await createWorkload(cluster, ns, 'worker', 'worker-1', { app: 'api' });
    const oldBundle = await eventually('the bundle', () => readBundle(cluster, ns));
    const [oldRoot] = fingerprints(oldBundle);
    await eventually('first identities', () => readIdentity(cluster, ns, 'worker'));

    await must(cluster, [
      'annotate',
      'secret',
      'acp-ca',
      '-n',
      env.operatorNamespace,
      'acp.dev/rotate-ca=requested',
      '--overwrite',
    ]);
    const both = await eventually('both roots in the bundle', async () => {
      const b = await readBundle(cluster, ns);
      return b && bundleSize(b) === 2 ? b : undefined;
    });
    const newRoot = fingerprints(both).find((f) => f !== oldRoot)!;
    assert.ok(fingerprints(both).includes(oldRoot!), 'the old root stays while its leaves are valid');

    for (const sa of ['api', 'worker']) {
      const id = await eventually(
        `${sa} reissued from the new root`,
        async () => {
          const i = await readIdentity(cluster, ns, sa);
          return i?.annotations['acp.dev/issuer-fingerprint'] === newRoot ? i : undefined;
        },
        60_000,
        500,
      );
      assert.match(opensslVerify(id.certPem, both), /OK/, 'new leaves verify against the overlap bundle');
      assert.match(
        opensslVerify(
          id.certPem,
          await must(cluster, [
            'get',
            'secret',
            'acp-ca-next',
            '-n',
            env.operatorNamespace,
            '-o',
            'jsonpath={.data.tls\\.crt}',
          ])
            .then((b) => Buffer.from(b, 'base64').toString())
            .catch(() => both),
        ),
        /OK/,
      );
    }

    const finalBundle = await eventually(
      'the old root to leave the bundle',
      async () => {
        const b = await readBundle(cluster, ns);
        return b && bundleSize(b) === 1 && !fingerprints(b).includes(oldRoot!) ? b : undefined;
      },
      150_000,
      1000,
    );
    assert.deepEqual(fingerprints(finalBundle), [newRoot]);
    const caCert = Buffer.from(
      await must(cluster, [
        'get',
        'secret',
        'acp-ca',
        '-n',
        env.operatorNamespace,
        '-o',
        'jsonpath={.data.tls\\.crt}',
      ]),
      'base64',
    ).toString();
    assert.equal(new X509Certificate(caCert).fingerprint256, newRoot, 'acp-ca now holds the new root');
    const annotations = await must(cluster, [
      'get',
      'secret',
      'acp-ca',
      '-n',
      env.operatorNamespace,
      '-o',
      'jsonpath={.metadata.annotations}',
    ]);
    assert.doesNotMatch(annotations, /rotate-ca/);
    const next = await cluster.core
      .readNamespacedSecret({ name: 'acp-ca-next', namespace: env.operatorNamespace })
      .then(
        () => true,
        () => false,
      );
    assert.equal(next, false, 'acp-ca-next is gone');
    const events = (await eventReasons(cluster, env.operatorNamespace)).map((e) => e.reason);
    for (const r of ['CARotationStarted', 'CARotationIssuing', 'CARotationCompleted'])
      assert.ok(events.includes(r), `${r} in ${events.join(',')}`);
    const api = (await readIdentity(cluster, ns, 'api'))!;
    assert.match(opensslVerify(api.certPem, finalBundle), /OK/);
  });
});

describe('operator: an invalid user CA', () => {
  let cluster: TestCluster;
  let env: OperatorEnv;
  let operator: OperatorProcess;
  const dir = mkdtempSync(join(tmpdir(), 'acp-user-ca-'));
  const openssl = (...args: string[]): void =>
    void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const file = (f: string): string => readFileSync(join(dir, f), 'utf8');

  before(async () => {
    cluster = await useCluster();
    env = await operatorEnv(cluster, 'userca');
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=Corp Mesh CA',
      '-days',
      '30',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'ca.crt',
    );
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=Not a CA',
      '-days',
      '30',
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-out',
      'leaf.crt',
    );
    writeFileSync(join(dir, 'x'), '');
    await must(cluster, [
      'create',
      'secret',
      'generic',
      'corp-ca',
      '-n',
      env.operatorNamespace,
      `--from-file=tls.crt=${join(dir, 'ca.crt')}`,
      `--from-file=tls.key=${join(dir, 'ca.key')}`,
    ]);
    operator = await startOperator({
      kubeconfig: env.kubeconfig,
      namespace: env.operatorNamespace,
      watchNamespaces: [env.workloadNamespace],
      identity: 'op-userca',
      args: ['--ca-secret=corp-ca'],
    });
  });
  after(async () => {
    await operator?.stop();
  });

  it('issues from a valid user CA', async () => {
    const ns = env.workloadNamespace;
    await applyPolicy(cluster, ns, 'p', 'api');
    await createWorkload(cluster, ns, 'api', 'api-1', { app: 'api' });
    const id = await eventually('an identity from the user CA', () => readIdentity(cluster, ns, 'api'));
    assert.match(opensslVerify(id.certPem, file('ca.crt')), /OK/);
    assert.equal(id.leaf.issuer, 'CN=Corp Mesh CA');
    const soon = await eventually('a CAExpiringSoon Warning for a CA with 30 days left', async () =>
      (await eventReasons(cluster, env.operatorNamespace)).find((e) => e.reason === 'CAExpiringSoon'),
    );
    assert.equal(soon.type, 'Warning');
    assert.match(await operator.metrics(), /acp_operator_ca_expiring_soon 1/);
  });

  it('refuses a user CA that is not a CA, keeps existing certificates and issues nothing from it', async () => {
    const ns = env.workloadNamespace;
    const before = (await readIdentity(cluster, ns, 'api'))!;
    const replaced = JSON.stringify({
      data: { 'tls.crt': Buffer.from(file('leaf.crt')).toString('base64') },
    });
    await must(cluster, [
      'patch',
      'secret',
      'corp-ca',
      '-n',
      env.operatorNamespace,
      '--type=merge',
      '-p',
      replaced,
    ]);
    const warning = await eventually('a CAInvalid Warning', async () =>
      (await eventReasons(cluster, env.operatorNamespace)).find((e) => e.reason === 'CAInvalid'),
    );
    assert.equal(warning.type, 'Warning');
    assert.match(warning.note, /not a CA certificate/);
    await createWorkload(cluster, ns, 'newcomer', 'newcomer-1', { app: 'api' });
    const cond = await eventually('CertificatesReady=False/CAInvalid', async () => {
      const c = await policyCondition(cluster, ns, 'p', 'CertificatesReady');
      return c?.status === 'False' && c.reason === 'CAInvalid' ? c : undefined;
    });
    assert.match(cond.message, /not a CA certificate/);
    assert.equal(
      await readIdentity(cluster, ns, 'newcomer'),
      undefined,
      'nothing is issued from an invalid CA',
    );
    const after = (await readIdentity(cluster, ns, 'api'))!;
    assert.equal(after.resourceVersion, before.resourceVersion, 'the existing Secret is untouched');
    assert.match(await operator.metrics(), /acp_operator_ca_invalid 1/);
  });
});
