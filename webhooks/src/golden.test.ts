// Golden files: every webhooks/testdata/X.yaml (a Pod, optionally with
// its own Namespace and ApiCompliancePolicy documents; the rest comes from
// _context.yaml) is admitted, the patch is applied to it, and the result
// must equal X.injected.yaml, compared as data. A golden without its input
// fails, and so does a missing or stale one; ACP_UPDATE_GOLDEN=1 rewrites
// them. Every result must also be a fixed point: admitting it again gives
// an empty patch. And a dry run gets the same patch.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { admitPod, type InjectDeps } from './admission/inject.ts';
import type { PatchOperation } from './admission/jsonpatch.ts';
import type { AdmissionRequest } from './admission/review.ts';
import { DEFAULT_INJECTION_CONFIG } from './inject/config.ts';
import type { PolicyRef } from './inject/decide.ts';
import type { Pod } from './inject/pod.ts';
import { toPolicyRef } from './policy/ref.ts';
import { applyPatch } from './testing/apply-patch.ts';

const dir = join(import.meta.dirname, '..', 'testdata');
const update = process.env['ACP_UPDATE_GOLDEN'] === '1';
const SUFFIX = '.injected.yaml';

type Doc = { kind?: string; metadata?: { name?: string; labels?: Record<string, string> } };

function docs(file: string): Doc[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Doc);
}

function deps(all: Doc[]): InjectDeps {
  const context = docs(join(dir, '_context.yaml'));
  const own = (kind: string): Doc[] => all.filter((d) => d.kind === kind);
  const namespaces =
    own('Namespace').length > 0 ? own('Namespace') : context.filter((d) => d.kind === 'Namespace');
  const policySource = own('ApiCompliancePolicy').length > 0 ? own('ApiCompliancePolicy') : context;
  const policies = policySource.map(toPolicyRef).filter((p): p is PolicyRef => p !== undefined);
  return {
    config: DEFAULT_INJECTION_CONFIG,
    excludedNamespaces: new Set(['kube-system', 'kube-node-lease', 'acp-system']),
    policiesIn: () => policies,
    namespaceLabels: (ns) => namespaces.find((n) => n.metadata?.name === ns)?.metadata?.labels ?? {},
  };
}

function request(pod: Pod, dryRun = false): AdmissionRequest {
  return {
    uid: 'golden',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: pod.metadata?.namespace ?? 'shop',
    operation: 'CREATE',
    object: pod,
    oldObject: null,
    dryRun,
  };
}

function patchOf(admission: ReturnType<typeof admitPod>): PatchOperation[] {
  const { patch } = admission.response;
  return patch ? (JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as PatchOperation[]) : [];
}

const files = readdirSync(dir).sort();
const inputs = files.filter((f) => f.endsWith('.yaml') && !f.endsWith(SUFFIX) && !f.startsWith('_'));

describe('golden files (webhooks/testdata)', () => {
  it('every golden file has its input', () => {
    const orphans = files.filter((f) => f.endsWith(SUFFIX) && !inputs.includes(f.replace(SUFFIX, '.yaml')));
    assert.deepEqual(orphans, [], 'delete the golden files of removed inputs');
  });

  for (const input of inputs) {
    it(`${input} gives ${input.replace('.yaml', SUFFIX)}`, () => {
      const all = docs(join(dir, input));
      const pod = all.find((d) => d.kind === 'Pod') as Pod | undefined;
      assert.ok(pod, `${input} holds a Pod`);
      const d = deps(all);
      const admission = admitPod(request(pod), d);
      assert.equal(admission.response.allowed, true);
      const result = applyPatch(pod, patchOf(admission)) as Pod;
      const goldenFile = join(dir, input.replace('.yaml', SUFFIX));
      if (update || !existsSync(goldenFile)) {
        assert.ok(update, `missing ${goldenFile}: run with ACP_UPDATE_GOLDEN=1`);
        writeFileSync(
          goldenFile,
          `# GENERATED from ${input} by webhooks/src/golden.test.ts (ACP_UPDATE_GOLDEN=1)\n${stringify(result)}`,
        );
      }
      const golden = docs(goldenFile)[0];
      assert.deepEqual(
        result,
        golden,
        `stale ${goldenFile}: review the change, then run with ACP_UPDATE_GOLDEN=1`,
      );

      assert.deepEqual(
        patchOf(admitPod(request(result), d)),
        [],
        'admitting the result again changes nothing',
      );
      assert.deepEqual(
        admitPod(request(pod, true), d).response,
        admission.response,
        'a dry run gets the same patch',
      );
    });
  }
});
