// Credentials that rotate, on the real apiserver: the operator (a process)
// and the webhook (in this process) authenticate with a ServiceAccount
// token bound to a Pod object, read from a file their kubeconfig names
// (tokenFile), as the kubelet's projected token is. The token is rotated:
// a new token bound to a new Pod is written over the file and the old
// Pod is deleted, so the old token stops working. Both carry on without
// a restart: the operator issues an identity for a policy created after
// the rotation, the webhook's informers watch again and see a policy
// created after it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import {
  createNamespace,
  installOperatorRbac,
  kubectl,
  podBoundToken,
  startOperator,
  tokenStatus,
  useCluster,
  type OperatorProcess,
  type RotatingToken,
  type TestCluster,
} from '../src/index.ts';
import {
  applyPolicy,
  createWorkload,
  eventually,
  policyCondition,
  readIdentity,
} from './identity-fixtures.ts';
import { webhookFixture, type WebhookFixture } from './support/webhook-fixture.ts';

/** Waits until the apiserver refuses `token` (the Pod it was bound to is gone). */
async function refused(cluster: TestCluster, token: string): Promise<void> {
  await eventually('the old token is refused', async () =>
    (await tokenStatus(cluster, token)) === 401 ? true : undefined,
  );
}

describe('operator: a rotated ServiceAccount token file', () => {
  let cluster: TestCluster;
  let operator: OperatorProcess;
  let token: RotatingToken;
  let ns: string;

  before(async () => {
    cluster = await useCluster();
    ns = await createNamespace(cluster, 'rotate-op');
    const operatorNamespace = `${ns}-op`;
    await installOperatorRbac(cluster, operatorNamespace);
    token = await podBoundToken(cluster, operatorNamespace, 'acp-operator');
    operator = await startOperator({
      kubeconfig: token.kubeconfig,
      namespace: operatorNamespace,
      watchNamespaces: [ns],
      identity: 'op-rotate',
    });
    await createWorkload(cluster, ns, 'before', 'before-1', { app: 'before' });
    await applyPolicy(cluster, ns, 'before', 'before');
    await eventually('an identity before the rotation', () => readIdentity(cluster, ns, 'before'));
  });
  after(async () => {
    await operator?.stop();
  });

  it('keeps reconciling after the old token stops working, without a restart', async () => {
    const old = await token.rotate();
    await refused(cluster, old);
    assert.equal(await tokenStatus(cluster, token.token), 200, 'the new token works');
    await createWorkload(cluster, ns, 'after', 'after-1', { app: 'after' });
    await applyPolicy(cluster, ns, 'after', 'after');
    const id = await eventually(
      'an identity issued after the rotation',
      () => readIdentity(cluster, ns, 'after'),
      60_000,
    );
    assert.match(id.leaf.subjectAltName ?? '', /sa\/after$/);
    await eventually('the new policy Ready', async () =>
      (await policyCondition(cluster, ns, 'after', 'Ready'))?.status === 'True' ? true : undefined,
    );
    assert.equal(operator.process.exitCode, null, 'the operator was not restarted');
  });
});

describe('webhook: a rotated ServiceAccount token file', () => {
  let cluster: TestCluster;
  let fx: WebhookFixture;
  let ns: string;

  const watches = async (): Promise<number> => {
    const text = (await fx.registry!.getSingleMetricAsString('acp_webhook_apiserver_requests_total')) ?? '';
    return Number(/verb="WATCH",code="200"\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  before(async () => {
    cluster = await useCluster();
    // Short watches, so the informers watch again (a new request, with the credentials of the moment) soon.
    fx = await webhookFixture(cluster, { watchTimeoutSeconds: 3 });
    ns = await createNamespace(cluster, 'rotate-wh', fx.labels());
    await fx.start();
  });
  after(async () => {
    await fx?.cleanup();
  });

  it('keeps its informers watching after the old token stops working', async () => {
    const old = await fx.token.rotate();
    await refused(cluster, old);
    const before = await watches();
    await eventually('both informers watch again after the old token was refused', async () =>
      (await watches()) >= before + 2 ? true : undefined,
    );
    const created = await kubectl(
      cluster,
      ['create', '-f', '-'],
      stringify({
        apiVersion: 'compliance.acp.dev/v1alpha1',
        kind: 'ApiCompliancePolicy',
        metadata: { name: 'after-rotation', namespace: ns },
        spec: { selector: { matchLabels: { app: 'x' } }, upstream: { port: 8080 } },
      }),
    );
    assert.equal(created.code, 0, created.stderr);
    await eventually("the new policy in the webhook's cache", () =>
      Promise.resolve(fx.webhook!.view.policiesIn(ns).some((p) => p.name === 'after-rotation') || undefined),
    );
    assert.equal(fx.webhook!.view.synced(), true);
  });
});
