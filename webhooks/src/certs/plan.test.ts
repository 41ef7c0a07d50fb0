import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextStep, type CertInfo, type CertSettings, type PlanInput, type ServingState } from './plan.ts';

const H = 3_600_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (h: number): Date => new Date(T0 + h * H);
const settings: CertSettings = {
  caLifetimeMs: 300 * H,
  caRenewBeforeMs: 100 * H,
  leafLifetimeMs: 30 * H,
  leafRenewBeforeMs: 10 * H,
  propagationMs: 1 * H,
  retireGraceMs: 2 * H,
  sans: ['DNS:acp-webhook.acp-system.svc', 'IP:127.0.0.1'],
};
const ca = (fp: string, from: number, to: number): CertInfo => ({
  fingerprint: fp,
  notBefore: at(from),
  notAfter: at(to),
});

function state(change: (s: ServingState) => void = () => undefined): ServingState {
  const s: ServingState = {
    signer: ca('A', 0, 300),
    leaf: { ...ca('L1', 0, 30), issuer: 'A', sans: [...settings.sans].sort() },
    bundle: [ca('A', 0, 300)],
    signerPublishedAt: at(0),
    retireAfter: undefined,
  };
  change(s);
  return s;
}

/** A new CA B published at `publishedH`, the leaf still from A. */
const rotating = (publishedH: number): ServingState =>
  state((s) => {
    s.signer = ca('B', 5, 305);
    s.bundle = [ca('B', 5, 305), ca('A', 0, 300)];
    s.signerPublishedAt = at(publishedH);
  });

/** The leaf already from B; A may be retired at hour 3. */
const retiring = (): ServingState =>
  state((s) => {
    s.leaf!.issuer = 'B';
    s.signer = ca('B', 0, 300);
    s.bundle = [ca('B', 0, 300), ca('A', 0, 300)];
    s.retireAfter = at(3);
  });

function plan(s: ServingState, nowH: number, extra: Partial<PlanInput> = {}) {
  return nextStep({ state: s, published: true, now: at(nowH), settings, forceCaRotation: false, ...extra });
}

describe('serving certificate plan', () => {
  const cases: [string, ServingState, number, Partial<PlanInput>, string][] = [
    [
      'with nothing stored it bootstraps a CA and a leaf',
      state((s) => ((s.signer = undefined), (s.leaf = undefined), (s.bundle = []))),
      0,
      {},
      'bootstrap',
    ],
    ['with an expired signing CA it bootstraps', state(), 301, {}, 'bootstrap'],
    [
      'with a signer missing from the bundle it bootstraps',
      state((s) => (s.bundle = [ca('B', 0, 300)])),
      1,
      {},
      'bootstrap',
    ],
    ['with a CA inside its renewal window it rotates the CA', state(), 201, {}, 'rotateCa'],
    ['a requested rotation rotates the CA at once', state(), 1, { forceCaRotation: true }, 'rotateCa'],
    ['an unpublished bundle is published before anything else', state(), 1, { published: false }, 'publish'],
    [
      'a published new signer is marked with the time it was seen',
      state((s) => (s.signerPublishedAt = undefined)),
      1,
      {},
      'markPublished',
    ],
    ['a leaf inside its renewal window is reissued', state(), 21, {}, 'issueLeaf'],
    ['a leaf with other SANs is reissued', state((s) => (s.leaf!.sans = ['DNS:old'])), 1, {}, 'issueLeaf'],
    ['a missing leaf is issued', state((s) => (s.leaf = undefined)), 1, {}, 'issueLeaf'],
    ['a leaf of the previous CA waits until the new CA has propagated', rotating(5), 5.5, {}, 'wait'],
    ['a leaf of the previous CA is replaced once the new CA has propagated', rotating(5), 6, {}, 'issueLeaf'],
    ['an expired leaf is replaced even while the new CA propagates', rotating(29.5), 31, {}, 'issueLeaf'],
    ['the old CA stays in the bundle during the retirement grace', retiring(), 2, {}, 'none'],
    ['the old CA leaves the bundle after the retirement grace', retiring(), 3, {}, 'trimBundle'],
    ['a healthy state needs nothing', state(), 1, {}, 'none'],
  ];
  for (const [name, s, now, extra, kind] of cases) {
    it(name, () => assert.equal(plan(s, now, extra).kind, kind));
  }

  it('never drops the CA of the leaf being served', () => {
    const s = rotating(5);
    s.retireAfter = at(0);
    const step = plan(s, 5.5);
    assert.notEqual(step.kind, 'trimBundle');
  });

  it('says when to look again: the earliest renewal', () => {
    const step = plan(state(), 1);
    assert.equal(step.kind, 'none');
    if (step.kind === 'none') assert.equal(step.nextCheckMs, 19 * H);
  });
});
