// The operator when its apiserver goes away: a private control plane (so
// no other test is disturbed) whose kube-apiserver is frozen with SIGSTOP
// for a while. The operator backs off without crashing and resumes issuing
// once the apiserver answers again.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { ensureBinaries } from '../harness/binaries.ts';
import { startControlPlane, stopControlPlane, type ControlPlaneState } from '../harness/controlplane.ts';
import { applyCrd } from '../harness/crd.ts';
import { startOperator, type OperatorProcess, type TestCluster } from '../src/index.ts';
import { applyPolicy, createWorkload, eventually, operatorEnv, readIdentity } from './identity-fixtures.ts';

function apiserverPid(supervisor: number): number {
  const dir = `/proc/${supervisor}/task`;
  for (const t of existsSync(dir) ? readdirSync(dir) : []) {
    for (const c of readFileSync(join(dir, t, 'children'), 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)) {
      if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'kube-apiserver') return Number(c);
    }
  }
  throw new Error('kube-apiserver process not found');
}

describe('operator: apiserver unavailable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acp-faults-'));
  let state: ControlPlaneState;
  let cluster: TestCluster;
  let operator: OperatorProcess;

  before(async () => {
    const binaries = ensureBinaries();
    state = await startControlPlane({ dir: join(dir, 'cp'), binaries, ownerPid: process.pid });
    applyCrd(state.kubeconfig, binaries.kubectl);
    const kc = new KubeConfig();
    kc.loadFromFile(state.kubeconfig);
    cluster = {
      kubeconfig: state.kubeconfig,
      server: state.server,
      binDir: binaries.dir,
      kubectlPath: binaries.kubectl,
      helmPath: binaries.helm,
      kc,
      core: kc.makeApiClient(CoreV1Api),
    };
  });
  after(async () => {
    await operator?.stop('SIGKILL');
    stopControlPlane(state);
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs off while the apiserver is frozen and resumes when it returns', async () => {
    const env = await operatorEnv(cluster, 'faults');
    const ns = env.workloadNamespace;
    operator = await startOperator({
      kubeconfig: env.kubeconfig,
      namespace: env.operatorNamespace,
      watchNamespaces: [ns],
      identity: 'op-faults',
    });
    await applyPolicy(cluster, ns, 'p', 'api');
    await createWorkload(cluster, ns, 'before', 'before-1', { app: 'api' });
    await eventually('an identity before the outage', () => readIdentity(cluster, ns, 'before'));

    const pid = apiserverPid(state.pids.apiserver);
    process.kill(pid, 'SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 12_000));
      assert.equal(operator.process.exitCode, null, 'the operator is still running');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await createWorkload(cluster, ns, 'after', 'after-1', { app: 'api' });
    await eventually('an identity after the outage', () => readIdentity(cluster, ns, 'after'), 60_000);
    assert.equal(operator.process.exitCode, null, 'still the same process');
    const msgs = operator.logs().map((l) => String(l['msg']));
    assert.ok(
      msgs.some((m) => m.startsWith('leadership lost')),
      'a 12 s outage outlasts the 7 s renew deadline: leadership is given up',
    );
    assert.ok(msgs.filter((m) => m === 'became leader').length >= 2, 'and regained');
  });
});
