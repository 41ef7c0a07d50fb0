// Measured compliance on a real node: the chart installed with a short
// verify period, a compliant workload injected by the real webhook and run
// by the kubelet shows Verified=True with evidence for every control; a pod
// started from an edited copy of its manifest whose config volume points at
// a hand-edited config (a config the operator never compiled: the sidecar
// reports another hash) shows the controls failing, Verified=False/Drift
// and a Warning Event naming that pod; `acp report` (from the cluster and
// offline from `kubectl get acp -o yaml`) contains both pods, and its OSCAL
// output validates against the NIST OSCAL 1.2.3 schema.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { CONFIG_VOLUME, policyConfigMapName } from '@acp/crds';
import { useCluster, type TestCluster } from '../../harness/cluster.ts';
import {
  applyJson,
  deployApp,
  injectedNamespace,
  installChart,
  must,
  readyPods,
  RELEASE_NAMESPACE,
  until,
} from '../../harness/node/product.ts';

const image = process.env['ACP_TEST_IMAGE'] ?? '';
const NS = 'evidence';
const root = resolve(import.meta.dirname, '..', '..', '..');
const CLI = join(root, 'operator', 'src', 'cli', 'main.ts');

interface Status {
  conditions?: { type: string; status: string; reason: string; message: string }[];
  verification?: {
    lastVerified?: string;
    controls?: { id: string; status: string; evidence: string; failing?: string[] }[];
    pods?: { pod: string; status: string; evidence: string; drift?: { code: string }[] }[];
  };
}

let cluster: TestCluster;
let dir: string;
const statusOf = async (): Promise<Status> =>
  (JSON.parse(await must(cluster, ['get', 'acp', 'web', '-n', NS, '-o', 'json'])) as { status?: Status })
    .status ?? {};
const verified = (s: Status) => s.conditions?.find((c) => c.type === 'Verified');

const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
function oscalValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(
    JSON.parse(
      readFileSync(join(root, 'operator', 'testdata', 'oscal', 'oscal_complete_schema.json'), 'utf8'),
    ) as object,
  );
}

function acp(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: cluster.kubeconfig },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('measured compliance on a real node', { timeout: 900_000 }, () => {
  let webPod = '';
  before(async () => {
    assert.ok(image, 'ACP_TEST_IMAGE is set by the test command after `npm run image`');
    cluster = await useCluster();
    dir = mkdtempSync(join(tmpdir(), 'acp-evidence-node-'));
    await installChart(cluster, image, [
      'operator.verification.period=10s',
      'operator.verification.propagation=5s',
    ]);
    await injectedNamespace(cluster, NS, ['web']);
    await applyJson(cluster, {
      apiVersion: 'compliance.acp.dev/v1alpha1',
      kind: 'ApiCompliancePolicy',
      metadata: { name: 'web', namespace: NS },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        profiles: ['PCI-DSS-4.0'],
        upstream: { port: 8080 },
        mtls: { mode: 'Strict', allowedPeers: [{ namespace: NS, serviceAccount: 'checkout' }] },
        audit: { enabled: true, includeHeaders: ['x-request-id', 'x-forwarded-for'] },
      },
    });
    await deployApp(cluster, {
      namespace: NS,
      name: 'web',
      serviceAccount: 'web',
      labels: { app: 'web' },
      image,
    });
    webPod = (await readyPods(cluster, NS, 'app=web'))[0]?.name ?? '';
  });
  after(() => process.stdout.write(`# evidence dir: ${dir}\n`));

  test('a compliant workload shows Verified=True with evidence for every control', async () => {
    const s = await until('Verified=True', 180_000, async () => {
      const st = await statusOf();
      return verified(st)?.status === 'True' ? st : undefined;
    });
    const controls = s.verification?.controls ?? [];
    assert.ok(controls.length >= 5, JSON.stringify(controls));
    for (const c of controls) assert.equal(c.status, 'Pass', `${c.id}: ${c.evidence}`);
    const pod = s.verification?.pods?.find((p) => p.pod === webPod);
    assert.equal(pod?.status, 'Pass');
    assert.match(
      pod?.evidence ?? '',
      /TLSv1 refused, TLSv1\.1 refused, TLSv1\.2 accepted, TLSv1\.3 accepted/,
    );
    assert.match(pod?.evidence ?? '', /handshake without client certificate refused/);
    assert.match(pod?.evidence ?? '', new RegExp(`serves spiffe://cluster.local/ns/${NS}/sa/web`));
    const table = await must(cluster, ['get', 'acp', 'web', '-n', NS]);
    assert.match(table, /web\s+True\s+True\s+True\s+Enforce/);
  });

  test('a pod from an edited manifest running a config the operator never compiled fails, with an Event naming it', async () => {
    const cm = JSON.parse(
      await must(cluster, ['get', 'configmap', policyConfigMapName('web'), '-n', NS, '-o', 'json']),
    ) as {
      data: Record<string, string>;
    };
    const config = JSON.parse(cm.data['sidecar.json'] ?? '{}') as { limits: { maxRequestBytes: number } };
    config.limits.maxRequestBytes *= 2;
    await applyJson(cluster, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'web-edited-config', namespace: NS },
      data: { 'sidecar.json': JSON.stringify(config) },
    });
    const pod = JSON.parse(await must(cluster, ['get', 'pod', webPod, '-n', NS, '-o', 'json'])) as {
      metadata: Record<string, unknown>;
      spec: { volumes: { name: string; configMap?: { name: string } }[]; nodeName?: string };
    };
    const volume = pod.spec.volumes.find((v) => v.name === CONFIG_VOLUME);
    assert.ok(volume?.configMap, 'the injected pod mounts the compiled config');
    volume.configMap.name = 'web-edited-config';
    const labels = pod.metadata['labels'] as Record<string, string>;
    await applyJson(cluster, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-edited',
        namespace: NS,
        labels: { app: labels['app'] ?? 'web' },
        annotations: pod.metadata['annotations'],
      },
      spec: { ...pod.spec, nodeName: undefined },
    });
    await readyPods(cluster, NS, 'app=web', 2);
    const s = await until('Verified=False/Drift', 180_000, async () => {
      const st = await statusOf();
      return verified(st)?.reason === 'Drift' ? st : undefined;
    });
    assert.match(
      verified(s)?.message ?? '',
      /pod web-edited runs config [0-9a-f]{12}, compiled is [0-9a-f]{12}/,
    );
    const k = s.verification?.controls?.find((c) => c.id === '4.2.1');
    assert.equal(k?.status, 'Fail');
    assert.deepEqual(k?.failing, ['web-edited']);
    const edited = s.verification?.pods?.find((p) => p.pod === 'web-edited');
    assert.deepEqual(
      edited?.drift?.map((d) => d.code),
      ['ACP_ERR_EVIDENCE_STALE_CONFIG'],
    );
    assert.equal(s.verification?.pods?.find((p) => p.pod === webPod)?.status, 'Pass');
    const events = await until('a WorkloadDrift Event regarding Pod/web-edited', 60_000, async () => {
      const list = JSON.parse(
        await must(cluster, ['get', 'events.events.k8s.io', '-n', NS, '-o', 'json']),
      ) as {
        items: {
          reason: string;
          type: string;
          note?: string;
          regarding?: { kind?: string; name?: string };
        }[];
      };
      const e = list.items.filter((x) => x.reason === 'WorkloadDrift' && x.regarding?.name === 'web-edited');
      return e.length > 0 ? e : undefined;
    });
    assert.equal(events[0]?.regarding?.kind, 'Pod');
    assert.equal(events[0]?.type, 'Warning');
    assert.match(events[0]?.note ?? '', /ACP_ERR_EVIDENCE_STALE_CONFIG/);
  });

  test('acp report, from the cluster and offline, contains both pods; its OSCAL validates', async () => {
    const out = join(dir, 'report');
    const r = acp(['report', '-n', NS, '--out-dir', out]);
    assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(md, new RegExp(`^\\| ${webPod} \\| web \\| Pass \\|`, 'm'));
    assert.match(md, /^\| web-edited \| web \| Fail \| .*ACP_ERR_EVIDENCE_STALE_CONFIG/m);
    assert.match(
      readFileSync(join(out, 'report.html'), 'utf8'),
      /<td>web-edited<\/td><td>web<\/td><td>Fail<\/td>/,
    );
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      policies: {
        profiles: {
          controls: { workloads: { workload: string; result: string; lastVerified: string }[] }[];
        }[];
      }[];
    };
    const rows = json.policies[0]?.profiles[0]?.controls[0]?.workloads ?? [];
    assert.deepEqual(
      rows.map((w) => [w.workload, w.result]).sort(),
      [
        [webPod, 'Pass'],
        ['web-edited', 'Fail'],
      ].sort(),
    );
    for (const w of rows) assert.match(w.lastVerified, /^\d{4}-\d\d-\d\dT/);
    const validate = oscalValidator();
    const oscal = JSON.parse(readFileSync(join(out, 'assessment-results.oscal.json'), 'utf8')) as object;
    assert.equal(validate(oscal), true, JSON.stringify(validate.errors?.slice(0, 5)));
    // Offline, from what kubectl prints.
    const yamlFile = join(dir, 'acp.yaml');
    writeFileSync(yamlFile, await must(cluster, ['get', 'acp', '-n', NS, '-o', 'yaml']));
    const offline = acp(['report', '-f', yamlFile, '-o', 'oscal']);
    assert.equal(offline.code, 1, offline.stderr);
    assert.equal(
      validate(JSON.parse(offline.stdout) as object),
      true,
      JSON.stringify(validate.errors?.slice(0, 5)),
    );
    assert.match(offline.stdout, /web-edited/);
    process.stdout.write(`# operator namespace: ${RELEASE_NAMESPACE}\n`);
  });
});
