// Leader election with two real operator processes: only the leader
// writes; when it is killed (SIGKILL: no lease release) the other takes
// over within 15 s; when it is killed in the middle of issuing many
// identities, the successor converges with exactly one valid Secret per
// service account.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createNamespace,
  startOperator,
  useCluster,
  type OperatorProcess,
  type TestCluster,
} from '../src/index.ts';
import {
  applyPolicy,
  createWorkload,
  eventReasons,
  eventually,
  must,
  operatorEnv,
  readBundle,
  readIdentity,
  opensslVerify,
  type OperatorEnv,
} from './identity-fixtures.ts';

async function leaseHolder(cluster: TestCluster, ns: string): Promise<string | undefined> {
  const out = await must(cluster, [
    'get',
    'lease',
    'acp-operator',
    '-n',
    ns,
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]).catch(() => '');
  return out || undefined;
}

const issuedCount = (metrics: string): number =>
  [...metrics.matchAll(/^acp_operator_certificates_issued_total\{[^}]*\} (\d+)/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );

describe('operator: leader election', () => {
  let cluster: TestCluster;
  let env: OperatorEnv;
  const ops: OperatorProcess[] = [];

  before(async () => {
    cluster = await useCluster();
    env = await operatorEnv(cluster, 'leader');
  });
  after(async () => {
    await Promise.all(ops.map((o) => o.stop('SIGKILL')));
  });

  it('lets only the leader write', async () => {
    const ns = env.workloadNamespace;
    const start = (id: string): Promise<OperatorProcess> =>
      startOperator({
        kubeconfig: env.kubeconfig,
        namespace: env.operatorNamespace,
        watchNamespaces: [ns],
        identity: id,
      });
    ops.push(await start('op-a'));
    await eventually('a leader', () => leaseHolder(cluster, env.operatorNamespace));
    ops.push(await start('op-b'));
    await applyPolicy(cluster, ns, 'p', 'api', { lifetime: '1h' });
    for (let i = 0; i < 5; i++) await createWorkload(cluster, ns, `sa-${i}`, `pod-${i}`, { app: 'api' });
    for (let i = 0; i < 5; i++)
      await eventually(`identity sa-${i}`, () => readIdentity(cluster, ns, `sa-${i}`));
    const holder = await leaseHolder(cluster, env.operatorNamespace);
    const leader = ops.find((o) => o.identity === holder)!;
    const standby = ops.find((o) => o.identity !== holder)!;
    assert.ok(leader && standby);
    assert.equal(issuedCount(await leader.metrics()), 5);
    assert.equal(issuedCount(await standby.metrics()), 0, 'the standby issued nothing');
    assert.match(await standby.metrics(), /acp_operator_leader 0/);
    assert.match(await leader.metrics(), /acp_operator_leader 1/);
    const events = await eventReasons(cluster, ns);
    assert.ok(events.length >= 5);
    assert.deepEqual(
      [...new Set(events.map((e) => e.instance))],
      [leader.identity],
      'every Event comes from the leader',
    );
    const ready = await fetch(`http://127.0.0.1:${standby.metricsPort}/readyz`);
    assert.equal(ready.status, 200, 'a standby with synced caches is ready');
  });

  it('fails over within 15 s when the leader is killed, and the new leader issues', async () => {
    const ns = env.workloadNamespace;
    const holder = await leaseHolder(cluster, env.operatorNamespace);
    const leader = ops.find((o) => o.identity === holder)!;
    const survivor = ops.find((o) => o.identity !== holder)!;
    const killedAt = Date.now();
    await leader.stop('SIGKILL');
    await eventually(
      'the survivor to take the lease',
      async () =>
        (await leaseHolder(cluster, env.operatorNamespace)) === survivor.identity ? true : undefined,
      20_000,
      100,
    );
    const takeover = (Date.now() - killedAt) / 1000;
    assert.ok(takeover <= 15, `took over after ${takeover.toFixed(1)} s`);
    await createWorkload(cluster, ns, 'late', 'late-1', { app: 'api' });
    await eventually('an identity from the new leader', () => readIdentity(cluster, ns, 'late'));
    assert.ok(issuedCount(await survivor.metrics()) >= 1);
    process.stdout.write(
      `# failover: the standby took over ${takeover.toFixed(1)} s after the leader was killed\n`,
    );
  });

  it('gives the lease up on SIGTERM so a successor starts at once', async () => {
    const holder = await leaseHolder(cluster, env.operatorNamespace);
    const leader = ops.find((o) => o.identity === holder)!;
    const next = await startOperator({
      kubeconfig: env.kubeconfig,
      namespace: env.operatorNamespace,
      watchNamespaces: [env.workloadNamespace],
      identity: 'op-c',
    });
    ops.push(next);
    await eventually('op-c ready', async () =>
      (await fetch(`http://127.0.0.1:${next.metricsPort}/readyz`)).ok ? true : undefined,
    );
    const t = Date.now();
    assert.equal(await leader.stop('SIGTERM'), 0, 'a clean exit');
    await eventually(
      'op-c to lead',
      async () => ((await leaseHolder(cluster, env.operatorNamespace)) === 'op-c' ? true : undefined),
      10_000,
      100,
    );
    assert.ok(Date.now() - t < 5000, 'well before the lease would have expired');
  });

  it('converges with one valid Secret per service account after being killed mid-issuance', async () => {
    const ns = await createNamespace(cluster, 'crash');
    const opNs = env.operatorNamespace;
    for (const o of ops) await o.stop('SIGKILL');
    await applyPolicy(cluster, ns, 'p', 'api', { lifetime: '1h', keyAlgorithm: 'RSA-2048' });
    const n = 40;
    await must(
      cluster,
      ['apply', '-f', '-'],
      Array.from(
        { length: n },
        (_, i) =>
          `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa-${i}, namespace: ${ns}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: pod-${i}, namespace: ${ns}, labels: {app: api}}\nspec: {serviceAccountName: sa-${i}, containers: [{name: app, image: x}]}\n`,
      ).join('---\n'),
    );
    // The RBAC binding is cluster-wide, so the same operator namespace can watch the new one.
    const victim = await startOperator({
      kubeconfig: env.kubeconfig,
      namespace: opNs,
      watchNamespaces: [ns],
      identity: 'op-victim',
      args: ['--lease-duration=3s', '--renew-deadline=2s', '--retry-period=500ms'],
    });
    ops.push(victim);
    await eventually(
      'the victim to start issuing',
      async () => (issuedCount(await victim.metrics().catch(() => '')) >= 3 ? true : undefined),
      30_000,
      20,
    );
    await victim.stop('SIGKILL');
    const partial = JSON.parse(
      await must(cluster, [
        'get',
        'secrets',
        '-n',
        ns,
        '-l',
        'acp.dev/component=workload-identity',
        '-o',
        'json',
      ]),
    ) as { items: unknown[] };
    assert.ok(partial.items.length < n, `killed mid-issuance (${partial.items.length} of ${n} written)`);
    const successor = await startOperator({
      kubeconfig: env.kubeconfig,
      namespace: opNs,
      watchNamespaces: [ns],
      identity: 'op-successor',
      args: ['--lease-duration=3s', '--renew-deadline=2s', '--retry-period=500ms'],
    });
    ops.push(successor);
    const bundle = await eventually('the bundle', () => readBundle(cluster, ns));
    for (let i = 0; i < n; i++) {
      const id = await eventually(`sa-${i}`, () => readIdentity(cluster, ns, `sa-${i}`), 60_000);
      assert.match(opensslVerify(id.certPem, bundle), /OK/);
      assert.equal(id.leaf.subjectAltName, `URI:spiffe://cluster.local/ns/${ns}/sa/sa-${i}`);
    }
    const all = JSON.parse(await must(cluster, ['get', 'secrets', '-n', ns, '-o', 'json'])) as {
      items: { metadata: { name: string } }[];
    };
    const names = all.items.map((s) => s.metadata.name).filter((x) => x.startsWith('acp-identity-'));
    assert.equal(names.length, n, 'exactly one Secret per service account');
    assert.equal(new Set(names).size, n);
  });
});
