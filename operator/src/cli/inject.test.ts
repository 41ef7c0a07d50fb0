import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_INJECTION_CONFIG } from '@acp/webhooks/inject';
import { readDocuments, type SourcedDocument } from './documents.ts';
import {
  ASSUMED_POLICY,
  formatInjectReport,
  injectDocuments,
  POD_TEMPLATE_PATHS,
  type InjectOptions,
} from './inject.ts';

// The webhook's own golden files are the oracle: its test admits each input
// through the real admission path and applies the patch.
const testdata = join(import.meta.dirname, '..', '..', '..', 'webhooks', 'testdata');
const read = (file: string): SourcedDocument[] =>
  readDocuments([{ name: file, text: readFileSync(join(testdata, file), 'utf8') }]).documents;
const golden = (input: string): Record<string, unknown> =>
  parse(readFileSync(join(testdata, input.replace('.yaml', '.injected.yaml')), 'utf8')) as Record<
    string,
    unknown
  >;
const inputs = readdirSync(testdata)
  .filter((f) => f.endsWith('.yaml') && !f.endsWith('.injected.yaml') && !f.startsWith('_'))
  .sort();

/** The context the golden test gives: _context.yaml's Namespaces and policies unless the input brings its own. */
function goldenContext(docs: readonly SourcedDocument[]): SourcedDocument[] {
  const has = (kind: string): boolean => docs.some((d) => d.value['kind'] === kind);
  return read('_context.yaml').filter(
    (d) =>
      (d.value['kind'] === 'Namespace' && !has('Namespace')) ||
      (d.value['kind'] === 'ApiCompliancePolicy' && !has('ApiCompliancePolicy')),
  );
}

const options = (context: SourcedDocument[] = [], change: Partial<InjectOptions> = {}): InjectOptions => ({
  config: DEFAULT_INJECTION_CONFIG,
  namespace: 'default',
  operatorNamespace: 'acp-system',
  context,
  ...change,
});

const podOut = (docs: readonly Record<string, unknown>[]): Record<string, unknown> | undefined =>
  docs.find((d) => d['kind'] === 'Pod');

describe('acp inject gives what the webhook gives (webhooks/testdata golden files)', () => {
  assert.ok(inputs.length >= 10);
  for (const input of inputs) {
    it(`${input} comes out as ${input.replace('.yaml', '.injected.yaml')}`, () => {
      const docs = read(input);
      const r = injectDocuments(docs, options(goldenContext(docs)));
      assert.deepEqual(podOut(r.documents), golden(input));
      assert.equal(r.reports.length, 1);
    });
  }
});

type Obj = Record<string, unknown>;
const without = (o: Obj, ...keys: string[]): Obj =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
const templateOf = (doc: Obj, path: readonly string[]): unknown =>
  path.reduce<unknown>((cur, k) => (cur as Obj | undefined)?.[k], doc);

/** basic.yaml's pod as the template of a workload of `kind`. */
function workload(kind: string): Obj {
  const pod = read('basic.yaml')[0]!.value as { metadata: Obj; spec: Obj };
  const template = { metadata: without(pod.metadata, 'name', 'namespace'), spec: pod.spec };
  const path = POD_TEMPLATE_PATHS[kind]!;
  const wrap = (keys: readonly string[]): unknown => {
    const [k, ...rest] = keys;
    return k === undefined ? template : { [k]: wrap(rest) };
  };
  return {
    apiVersion: kind === 'CronJob' || kind === 'Job' ? 'batch/v1' : 'apps/v1',
    kind,
    metadata: { name: 'payments', namespace: 'shop' },
    ...(wrap(path) as Obj),
  };
}

describe('acp inject reads the pod template of every workload kind', () => {
  const expected = golden('basic.yaml') as { metadata: Obj; spec: Obj };
  const expectedMeta = without(expected.metadata, 'name', 'namespace');
  for (const kind of Object.keys(POD_TEMPLATE_PATHS).filter((k) => k !== 'Pod')) {
    it(`a ${kind}'s template comes out as the webhook injects the same pod`, () => {
      const doc = workload(kind);
      const r = injectDocuments([{ source: 'w.yaml', value: doc }], options(goldenContext([])));
      const out = r.documents[0]!;
      assert.deepEqual(templateOf(out, POD_TEMPLATE_PATHS[kind]!), {
        metadata: expectedMeta,
        spec: expected.spec,
      });
      assert.deepEqual(out['metadata'], doc['metadata'], 'the workload itself is not changed');
      assert.deepEqual(r.reports[0]?.outcome, { kind: 'injected', policy: 'payments', matched: 1 });
      assert.equal(r.reports[0]?.workload, `${kind} shop/payments`);
    });
  }
});

describe('acp inject', () => {
  const deployment = workload('Deployment');

  it('without a policy injects as if one selected the pod, and says so', () => {
    const r = injectDocuments([{ source: 'd.yaml', value: deployment }], options());
    assert.equal(r.reports[0]?.outcome.kind, 'injected');
    assert.match(r.notes.join('\n'), new RegExp(`as if a policy named ${ASSUMED_POLICY} selected every pod`));
    assert.match(
      r.notes.join('\n'),
      /no Namespace document for shop: assumed labelled acp.dev\/injection=enabled/,
    );
  });

  it('reports the skip reason code and leaves what the webhook leaves', () => {
    const ns = {
      source: 'ns.yaml',
      value: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    };
    const r = injectDocuments([{ source: 'd.yaml', value: deployment }], options([ns]));
    assert.deepEqual(r.reports[0]?.outcome.kind, 'skipped');
    assert.equal(r.reports[0]?.outcome.kind === 'skipped' && r.reports[0].outcome.reason, 'not_opted_in');
    assert.deepEqual(r.documents[0], deployment, 'not_opted_in leaves the pod untouched');
  });

  it("never injects in the operator's namespace", () => {
    const r = injectDocuments(
      [{ source: 'd.yaml', value: deployment }],
      options([], { operatorNamespace: 'shop' }),
    );
    assert.equal(r.reports[0]?.outcome.kind === 'skipped' && r.reports[0].outcome.reason, 'system_namespace');
  });

  it('puts the -n namespace on workloads that name none', () => {
    const meta = without(deployment['metadata'] as Obj, 'namespace');
    const r = injectDocuments(
      [{ source: 'd.yaml', value: { ...deployment, metadata: meta } }],
      options([], { namespace: 'kube-system' }),
    );
    assert.equal(r.reports[0]?.workload, 'Deployment kube-system/payments');
    assert.equal(r.reports[0]?.outcome.kind === 'skipped' && r.reports[0].outcome.reason, 'system_namespace');
  });

  it('passes other documents through unchanged and in order', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } };
    const r = injectDocuments(
      [
        { source: 'a#1', value: svc },
        { source: 'a#2', value: deployment },
      ],
      options(),
    );
    assert.equal(r.documents[0], svc);
    assert.equal(r.documents[1]?.['kind'], 'Deployment');
    assert.equal(r.reports.length, 1);
  });

  it('injects the workloads of a v1 List (kubectl get -o yaml of several objects)', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } };
    const list = { apiVersion: 'v1', kind: 'List', items: [svc, deployment] };
    const r = injectDocuments([{ source: 'l.yaml', value: list }], options());
    const items = r.documents[0]?.['items'] as Obj[];
    assert.equal(items[0], svc);
    assert.equal(
      (templateOf(items[1]!, ['spec', 'template', 'spec', 'initContainers']) as { name: string }[])[0]?.name,
      'acp-sidecar',
    );
    assert.deepEqual(
      r.reports.map((x) => [x.source, x.outcome.kind]),
      [['l.yaml[1]', 'injected']],
    );
  });

  it('uses the injection config it is given', () => {
    const config = { ...DEFAULT_INJECTION_CONFIG, image: 'registry.local/acp:9' };
    const r = injectDocuments([{ source: 'd.yaml', value: deployment }], options([], { config }));
    const spec = templateOf(r.documents[0]!, ['spec', 'template', 'spec']) as {
      initContainers: { image: string }[];
    };
    assert.equal(spec.initContainers[0]?.image, 'registry.local/acp:9');
  });

  it('reports a workload without a pod template as an error and leaves it', () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: {} };
    const r = injectDocuments([{ source: 'd.yaml', value: broken }], options());
    assert.deepEqual(r.reports[0]?.outcome, { kind: 'error', message: 'no pod template (spec) found' });
    assert.equal(r.documents[0], broken);
  });

  const lines: [string, Parameters<typeof formatInjectReport>[0], string][] = [
    [
      'an injected workload names its policy',
      {
        source: 'd.yaml',
        workload: 'Deployment shop/web',
        outcome: { kind: 'injected', policy: 'p', matched: 1 },
        warnings: [],
      },
      'd.yaml: Deployment shop/web: injected (policy p)',
    ],
    [
      'a skipped workload gives the reason code and why',
      {
        source: 'd.yaml',
        workload: 'Pod shop/x',
        outcome: { kind: 'skipped', reason: 'host_network', message: 'hostNetwork pods ...' },
        warnings: [],
      },
      'd.yaml: Pod shop/x: skipped: host_network (hostNetwork pods ...)',
    ],
    [
      'warnings follow on their own lines',
      {
        source: 'd.yaml',
        workload: 'Pod shop/x',
        outcome: { kind: 'injected', policy: 'a', matched: 2 },
        warnings: ['two policies'],
      },
      'd.yaml: Pod shop/x: injected (policy a)\nd.yaml: Pod shop/x: warning: two policies',
    ],
  ];
  for (const [name, report, text] of lines) {
    it(name, () => assert.equal(formatInjectReport(report), text));
  }
});
