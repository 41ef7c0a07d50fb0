import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { CA_SECRET_NAME } from '@acp/crds';
import type { Secret } from '@acp/kube';
import { createRootCa, type IssuedCertificate } from '@acp/pki';
import { planCa, type CaPlan, type CaWorld } from './ca-plan.ts';
import { CA_NEXT_SECRET_NAME, caSecretBody, ROTATE_ANNOTATION } from './ca-secrets.ts';
import type { CaRecord } from './ca-state.ts';

const NOW = new Date('2026-11-28T12:00:00Z');
const H = 3_600_000;
const NS = 'acp-system';

interface Root {
  issued: IssuedCertificate;
  fp: string;
}

async function root(lifetimeMs = 10 * 365 * 24 * H): Promise<Root> {
  const issued = await createRootCa({
    commonName: 'test root',
    keyAlgorithm: 'ECDSA-P256',
    lifetimeMs,
    now: new Date(NOW.getTime() - H),
  });
  return { issued, fp: new X509Certificate(issued.certPem).fingerprint256 };
}

const secret = (name: string, r: Root, annotations: Record<string, string> = {}): Secret => {
  const s = caSecretBody(NS, name, r.issued);
  s.metadata.annotations = annotations;
  return s;
};

/** The record as the operator stores it (key order as planCa writes it). */
function recordOf(current: Root | undefined, extra: Partial<CaRecord> = {}): string {
  const r: CaRecord = {
    ...(current
      ? {
          current: current.fp,
          currentCertPem: current.issued.certPem,
          currentRootsPem: [current.issued.certPem],
        }
      : {}),
    ...(extra.rotation ? { rotation: extra.rotation } : {}),
    retiring: extra.retiring ?? [],
    ...(extra.expiryWarnedFor ? { expiryWarnedFor: extra.expiryWarnedFor } : {}),
  };
  return JSON.stringify(r, null, 2);
}

function world(w: Partial<CaWorld>): CaWorld {
  return {
    now: NOW,
    namespace: NS,
    userCaName: undefined,
    ca: undefined,
    next: undefined,
    recordJson: undefined,
    leaves: [],
    bundlesHold: () => true,
    maxLifetimeMs: 24 * H,
    propagationMs: 2 * 60_000,
    ...w,
  };
}

const written = (p: CaPlan): CaRecord => {
  assert.equal(p.write?.kind, 'record');
  return p.write.kind === 'record' ? p.write.record : ({} as CaRecord);
};

describe('planCa: the operator own root', () => {
  let a: Root;
  let b: Root;
  let soon: Root;
  before(async () => {
    [a, b, soon] = await Promise.all([root(), root(), root(30 * 24 * H)]);
  });

  const cases: [string, () => CaWorld, (p: CaPlan) => void][] = [
    [
      'with no acp-ca it creates the root, says CACreated, and keeps the last snapshot',
      () => world({}),
      (p) => {
        assert.deepEqual(p.write, { kind: 'createRoot', name: CA_SECRET_NAME });
        assert.deepEqual(
          p.events.map((e) => `${e.type} ${e.reason}`),
          ['Normal CACreated'],
        );
        assert.equal(p.snapshot, undefined);
        assert.equal(p.requeueAfterMs, 0);
      },
    ],
    [
      'with no acp-ca but a recorded root it warns that the CA Secret was deleted',
      () => world({ recordJson: recordOf(a) }),
      (p) => {
        assert.equal(p.write?.kind, 'createRoot');
        assert.equal(p.events[0]?.type, 'Warning');
      },
    ],
    [
      'with a valid acp-ca and no record it writes the record and publishes a snapshot signing from it',
      () => world({ ca: secret(CA_SECRET_NAME, a) }),
      (p) => {
        assert.equal(written(p).current, a.fp);
        assert.equal(p.snapshot?.signerFingerprint, a.fp);
        assert.deepEqual(p.snapshot?.bundleFingerprints, [a.fp]);
      },
    ],
    [
      'with a valid acp-ca and its record stored nothing is written and it looks again within the hour',
      () => world({ ca: secret(CA_SECRET_NAME, a), recordJson: recordOf(a) }),
      (p) => {
        assert.equal(p.write, undefined);
        assert.equal(p.snapshot?.signerFingerprint, a.fp);
        assert.equal(p.requeueAfterMs, H);
      },
    ],
    [
      'an acp-ca without a usable key is CAInvalid: nothing is written or published, retried in 30 s',
      () => {
        const s = secret(CA_SECRET_NAME, a);
        s.data = { ...s.data, 'tls.key': Buffer.from('not a key').toString('base64') };
        return world({ ca: s, recordJson: recordOf(a) });
      },
      (p) => {
        assert.equal(p.write, undefined);
        assert.equal(p.problem?.reason, 'CAInvalid');
        assert.match(p.problem?.message ?? '', /CA Secret acp-system\/acp-ca:/);
        assert.equal(p.snapshot, undefined);
        assert.equal(p.requeueAfterMs, 30_000);
      },
    ],
    [
      'a leftover acp-ca-next without a rotation or a request is deleted',
      () =>
        world({
          ca: secret(CA_SECRET_NAME, a),
          next: secret(CA_NEXT_SECRET_NAME, b),
          recordJson: recordOf(a),
        }),
      (p) => assert.deepEqual(p.write, { kind: 'deleteNext' }),
    ],
    [
      'a rotation request without a prepared root prepares acp-ca-next',
      () =>
        world({
          ca: secret(CA_SECRET_NAME, a, { [ROTATE_ANNOTATION]: 'requested' }),
          recordJson: recordOf(a),
        }),
      (p) => assert.deepEqual(p.write, { kind: 'createRoot', name: CA_NEXT_SECRET_NAME }),
    ],
    [
      'a rotation request with a prepared root starts the rotation in the record, with CARotationStarted',
      () =>
        world({
          ca: secret(CA_SECRET_NAME, a, { [ROTATE_ANNOTATION]: 'requested' }),
          next: secret(CA_NEXT_SECRET_NAME, b),
          recordJson: recordOf(a),
        }),
      (p) => {
        assert.equal(written(p).rotation?.phase, 'Propagating');
        assert.equal(written(p).rotation?.next, b.fp);
        assert.deepEqual(
          p.events.map((e) => e.reason),
          ['CARotationStarted'],
        );
        assert.equal(p.requeueAfterMs, 0);
      },
    ],
    [
      'a propagating rotation waits, writing nothing, while a trust bundle lacks the new root; both roots are trusted',
      () =>
        world({
          ca: secret(CA_SECRET_NAME, a, { [ROTATE_ANNOTATION]: 'requested' }),
          next: secret(CA_NEXT_SECRET_NAME, b),
          recordJson: recordOf(a, {
            rotation: { phase: 'Propagating', next: b.fp, startedAt: NOW.toISOString() },
          }),
          bundlesHold: () => false,
        }),
      (p) => {
        assert.equal(p.write, undefined);
        assert.equal(p.requeueAfterMs, 2000);
        assert.equal(p.snapshot?.signerFingerprint, a.fp, 'the old root still issues');
        assert.deepEqual(p.snapshot?.bundleFingerprints, [a.fp, b.fp].sort());
      },
    ],
    [
      'a rotation whose leaves are all from the new root, the old ones expired, promotes acp-ca-next',
      () =>
        world({
          ca: secret(CA_SECRET_NAME, a, { [ROTATE_ANNOTATION]: 'requested' }),
          next: secret(CA_NEXT_SECRET_NAME, b),
          recordJson: recordOf(a, {
            rotation: {
              phase: 'Issuing',
              next: b.fp,
              startedAt: '2026-11-27T00:00:00Z',
              bundledAt: '2026-11-27T00:01:00Z',
              switchedAt: '2026-11-27T00:03:00Z',
              oldValidUntil: '2026-11-28T00:03:00Z',
            },
          }),
          leaves: [{ issuer: '', notAfter: NOW }].map(() => ({
            issuer: b.fp,
            notAfter: new Date(NOW.getTime() + H),
          })),
        }),
      (p) => {
        assert.equal(p.write?.kind, 'promote');
        assert.equal(p.events.length, 0, 'completion is announced once the record says so');
      },
    ],
    [
      'after the promotion the leftover acp-ca-next is deleted before the record changes',
      () =>
        world({
          ca: secret(CA_SECRET_NAME, b),
          next: secret(CA_NEXT_SECRET_NAME, b),
          recordJson: recordOf(a, {
            rotation: { phase: 'Issuing', next: b.fp, startedAt: NOW.toISOString() },
          }),
        }),
      (p) => assert.deepEqual(p.write, { kind: 'deleteNext' }),
    ],
    [
      'then the record forgets the rotation and the old root, with CARotationCompleted',
      () =>
        world({
          ca: secret(CA_SECRET_NAME, b),
          recordJson: recordOf(a, {
            rotation: { phase: 'Issuing', next: b.fp, startedAt: NOW.toISOString() },
          }),
        }),
      (p) => {
        const r = written(p);
        assert.equal(r.rotation, undefined);
        assert.equal(r.current, b.fp);
        assert.deepEqual(r.retiring, [], 'no leaf of the old root is valid any more');
        assert.deepEqual(
          p.events.map((e) => e.reason),
          ['CARotationCompleted'],
        );
        assert.deepEqual(p.snapshot?.bundleFingerprints, [b.fp]);
      },
    ],
    [
      'a root that expires within 60 days is warned about once, in the record write',
      () => world({ ca: secret(CA_SECRET_NAME, soon), recordJson: recordOf(soon) }),
      (p) => {
        assert.equal(written(p).expiryWarnedFor, soon.fp);
        assert.deepEqual(
          p.events.map((e) => `${e.type} ${e.reason}`),
          ['Warning CAExpiringSoon'],
        );
        assert.equal(p.expiry?.soon, true);
      },
    ],
    [
      'a root already warned about is not warned about again',
      () =>
        world({ ca: secret(CA_SECRET_NAME, soon), recordJson: recordOf(soon, { expiryWarnedFor: soon.fp }) }),
      (p) => {
        assert.equal(p.write, undefined);
        assert.deepEqual(p.events, []);
        assert.equal(p.expiry?.soon, true);
      },
    ],
  ];
  for (const [name, w, check] of cases) it(name, () => check(planCa(w())));
});

describe('planCa: a user CA Secret', () => {
  let a: Root;
  let b: Root;
  before(async () => {
    [a, b] = await Promise.all([root(), root()]);
  });

  it('that does not exist is CAInvalid and nothing is written', () => {
    const p = planCa(world({ userCaName: 'corp-ca' }));
    assert.equal(p.write, undefined);
    assert.match(p.problem?.message ?? '', /CA Secret acp-system\/corp-ca does not exist/);
  });

  it('that was replaced keeps the previous CA trusted for the longest leaf lifetime', () => {
    const p = planCa(world({ userCaName: 'corp-ca', ca: secret('corp-ca', b), recordJson: recordOf(a) }));
    const r = written(p);
    assert.equal(r.current, b.fp);
    assert.deepEqual(
      r.retiring.map((x) => [x.fingerprint, x.until]),
      [[a.fp, new Date(NOW.getTime() + 24 * H).toISOString()]],
    );
    assert.equal(p.snapshot?.signerFingerprint, b.fp);
    assert.deepEqual(p.snapshot?.bundleFingerprints, [a.fp, b.fp].sort());
  });
});
