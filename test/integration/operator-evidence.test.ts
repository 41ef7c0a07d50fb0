// Measured evidence recorded on a real control plane, the operator running
// as a process under the chart's RBAC with a short verify period: a pod a
// policy selects that runs without the injected sidecar is drift (Verified
// False/Drift, status.verification names the pod with
// ACP_ERR_EVIDENCE_NOT_INJECTED, one Warning Event regarding the Pod, the
// control metric 0); a pod whose injected sidecar cannot be reached (no pod
// IP: no kubelet here) is Unknown, never Fail. The probe over real TLS is
// covered by test/e2e/evidence-probe.test.ts and test/e2e/node/evidence.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { SIDECAR_MARKER } from '@acp/crds';
import { useCluster, type OperatorProcess, type TestCluster } from '../src/index.ts';
import {
  createWorkload,
  eventReasons,
  eventually,
  must,
  policyCondition,
  startOperatorEnv,
} from './identity-fixtures.ts';

function policy(name: string, app: string): string {
  return stringify({
    apiVersion: 'compliance.acp.dev/v1alpha1',
    kind: 'ApiCompliancePolicy',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app } },
      upstream: { port: 8080 },
      profiles: ['PCI-DSS-4.0'],
      mtls: { mode: 'Strict', allowedPeers: [{ namespace: 'shop', serviceAccount: 'checkout' }] },
    },
  });
}

describe('operator: measured evidence', () => {
  let cluster: TestCluster;
  let operator: OperatorProcess;
  let ns: string;

  before(async () => {
    cluster = await useCluster();
    const started = await startOperatorEnv(cluster, 'evidence', 'op-evidence', [
      '--verify-period=2s',
      '--probe-propagation=0s',
      '--probe-timeout=1s',
    ]);
    operator = started.operator;
    ns = started.env.workloadNamespace;
  });
  after(async () => {
    await operator?.stop();
  });

  it('reports a selected pod running without the sidecar as drift, with an Event naming the pod', async () => {
    await must(cluster, ['apply', '-n', ns, '-f', '-'], policy('bare', 'bare'));
    await createWorkload(cluster, ns, 'bare', 'bare-1', { app: 'bare' });
    const c = await eventually(
      'Verified=False/Drift',
      async () => {
        const v = await policyCondition(cluster, ns, 'bare', 'Verified');
        return v?.status === 'False' && v.reason === 'Drift' ? v : undefined;
      },
      60_000,
      300,
    );
    assert.match(c.message, /pod bare-1 is selected but runs without the injected sidecar/);
    const p = JSON.parse(await must(cluster, ['get', 'acp', 'bare', '-n', ns, '-o', 'json'])) as {
      status: { verification: Record<string, any> };
    };
    const v = p.status.verification;
    assert.deepEqual(v['workloads'], { checked: 1, passed: 0, failed: 1, unknown: 0 });
    assert.equal(v['pods'][0].pod, 'bare-1');
    assert.deepEqual(
      v['pods'][0].drift.map((d: { code: string }) => d.code),
      ['ACP_ERR_EVIDENCE_NOT_INJECTED'],
    );
    assert.ok(v['controls'].every((k: { status: string }) => k.status === 'Fail'));
    assert.match(v['lastVerified'], /^\d{4}-\d\d-\d\dT/);
    const events = await eventually(
      'a WorkloadDrift Event regarding the pod',
      async () => {
        const e = (await eventReasons(cluster, ns)).filter((x) => x.reason === 'WorkloadDrift');
        return e.length > 0 ? e : undefined;
      },
      30_000,
      300,
    );
    assert.equal(events[0]?.regarding, 'Pod/bare-1');
    assert.equal(events[0]?.type, 'Warning');
    assert.match(events[0]?.note ?? '', /ACP_ERR_EVIDENCE_NOT_INJECTED/);
    assert.match(
      await operator.metrics(),
      new RegExp(
        `acp_operator_control_verified\\{namespace="${ns}",policy="bare",profile="PCI-DSS-4.0",control="4.2.1"\\} 0`,
      ),
    );
    // One drift, one Event: later rounds (every 2s) do not repeat it.
    const before = (await eventReasons(cluster, ns)).filter((x) => x.reason === 'WorkloadDrift').length;
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(
      (await eventReasons(cluster, ns)).filter((x) => x.reason === 'WorkloadDrift').length,
      before,
    );
  });

  it('reports an injected pod the probe cannot reach as Unknown, not as failing', async () => {
    await must(cluster, ['apply', '-n', ns, '-f', '-'], policy('unreached', 'unreached'));
    await must(
      cluster,
      ['apply', '-n', ns, '-f', '-'],
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'unreached-1', labels: { app: 'unreached' } },
        spec: {
          initContainers: [
            {
              name: 'acp-sidecar',
              image: 'registry.example/sidecar:1',
              restartPolicy: 'Always',
              env: [SIDECAR_MARKER],
            },
          ],
          containers: [{ name: 'app', image: 'registry.example/app:1' }],
        },
      }),
    );
    const c = await eventually(
      'Verified=Unknown/ProbeFailed',
      async () => {
        const v = await policyCondition(cluster, ns, 'unreached', 'Verified');
        return v?.status === 'Unknown' && v.reason === 'ProbeFailed' ? v : undefined;
      },
      60_000,
      300,
    );
    assert.match(c.message, /unreached-1: ACP_ERR_PROBE_NO_ADDRESS/);
    const p = JSON.parse(await must(cluster, ['get', 'acp', 'unreached', '-n', ns, '-o', 'json'])) as {
      status: { verification: Record<string, any> };
    };
    assert.ok(p.status.verification['controls'].every((k: { status: string }) => k.status === 'Unknown'));
    assert.match(
      await operator.metrics(),
      new RegExp(
        `acp_operator_control_verified\\{namespace="${ns}",policy="unreached",profile="PCI-DSS-4.0",control="4.2.1"\\} -1`,
      ),
    );
    assert.match(
      await operator.metrics(),
      /acp_operator_probes_total\{result="ACP_ERR_PROBE_NO_ADDRESS"\} [1-9]/,
    );
  });
});
