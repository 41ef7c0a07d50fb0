// The mesh CA's plan, a pure function of what the controller gathered:
// the CA Secrets (the operator's own root acp-ca and the prepared next
// root acp-ca-next, or the user's CA Secret), the persisted record, the
// stored leaves and trust bundles, and the time. It returns at most ONE
// write (create a root Secret, promote the next root, delete the next
// root, or write the record), the Events that go with that write, the
// snapshot to publish and when to look again. A write of a Secret
// requeues at once: the next reconcile sees its result and plans on from
// there, so a rotation's completion takes three reconciles (promote,
// delete acp-ca-next, record), each resumable after a crash.
import { CA_SECRET_NAME } from '@acp/crds';
import type { Secret } from '@acp/kube';
import { createSigner, validateCa, type CaMaterial } from '@acp/pki';
import { CA_NEXT_SECRET_NAME, caSourceOf, ROTATE_ANNOTATION } from './ca-secrets.ts';
import { buildSnapshot, parseRecord, type CaRecord, type CaSnapshot, type SigningCa } from './ca-state.ts';
import { stepRotation, type RotationInput } from './rotation.ts';

const DAY = 86_400_000;
export const EXPIRY_WARNING_MS = 60 * DAY;
const MAX_RECHECK_MS = 3_600_000;

export interface CaWorld {
  now: Date;
  namespace: string;
  /** The user CA Secret's name; undefined = the operator's own root. */
  userCaName: string | undefined;
  /** The user CA Secret (user mode) or acp-ca (own mode), undefined when missing. */
  ca: Secret | undefined;
  /** acp-ca-next (own mode). */
  next: Secret | undefined;
  /** The record as stored (state.json of acp-ca-state). */
  recordJson: string | undefined;
  /** Issuer fingerprint and notAfter of every stored identity Secret. */
  leaves: readonly { issuer: string; notAfter: Date }[];
  /** True when every trust bundle that should exist holds this root. */
  bundlesHold: (fingerprint: string) => boolean;
  /** The longest workload certificate lifetime policies ask for now. */
  maxLifetimeMs: number;
  propagationMs: number;
}

export type CaWrite =
  /** A new root (a new key: made by the writer) in a Secret that does not exist yet. */
  | { kind: 'createRoot'; name: string }
  /** acp-ca takes the material of acp-ca-next. */
  | { kind: 'promote'; from: Secret; to: Secret }
  | { kind: 'deleteNext' }
  | { kind: 'record'; record: CaRecord };

export interface CaEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

export interface CaPlan {
  /** At most one write; its events are recorded once it succeeded. */
  write: CaWrite | undefined;
  events: CaEvent[];
  /** The snapshot to publish; undefined keeps the last one (a write is under way). */
  snapshot: CaSnapshot | undefined;
  /** The CA cannot be used: nothing is issued (reason CAInvalid). */
  problem: { reason: string; message: string } | undefined;
  /** When the signing CA expires and whether that is within the warning window. */
  expiry: { at: Date; soon: boolean } | undefined;
  requeueAfterMs: number;
}

class Problem extends Error {}

function validated(world: CaWorld, name: string, secret: Secret): CaMaterial {
  try {
    return validateCa(caSourceOf(secret), world.now);
  } catch (e) {
    throw new Problem(`CA Secret ${world.namespace}/${name}: ${(e as Error).message}`);
  }
}

function signing(material: CaMaterial): SigningCa {
  return {
    certPem: material.certPem,
    rootsPem: material.rootsPem,
    fingerprint: material.fingerprint,
    signer: createSigner(material.certPem, material.keyPem, material.chainPem),
  };
}

/** Makes `ca` the record's current CA; a different previous one stays trusted for a leaf lifetime. */
function adopt(record: CaRecord, ca: CaMaterial, world: CaWorld, retire: boolean): void {
  if (retire && record.current && record.current !== ca.fingerprint && record.currentCertPem) {
    record.retiring.push({
      fingerprint: record.current,
      certPem: record.currentCertPem,
      rootsPem: record.currentRootsPem ?? [record.currentCertPem],
      until: new Date(world.now.getTime() + world.maxLifetimeMs).toISOString(),
    });
  }
  record.current = ca.fingerprint;
  record.currentCertPem = ca.certPem;
  record.currentRootsPem = ca.rootsPem;
}

const writing = (write: CaWrite, events: CaEvent[] = []): CaPlan => ({
  write,
  events,
  snapshot: undefined,
  problem: undefined,
  expiry: undefined,
  requeueAfterMs: 0,
});

function rotationInput(
  world: CaWorld,
  record: CaRecord,
  current: CaMaterial,
  next: CaMaterial | undefined,
): RotationInput {
  const oldLeaves = world.leaves.filter((l) => l.issuer === current.fingerprint);
  return {
    state: record.rotation,
    requested: world.ca?.metadata.annotations?.[ROTATE_ANNOTATION] === 'requested',
    preparedNext: next?.fingerprint,
    allBundlesHaveNext: next ? world.bundlesHold(next.fingerprint) : false,
    allLeavesFromNext: next !== undefined && world.leaves.every((l) => l.issuer === next.fingerprint),
    latestOldLeafNotAfter: oldLeaves.reduce<Date | undefined>(
      (m, l) => (!m || l.notAfter > m ? l.notAfter : m),
      undefined,
    ),
    maxLifetimeMs: world.maxLifetimeMs,
    propagationMs: world.propagationMs,
    now: world.now,
  };
}

interface Settled {
  record: CaRecord;
  snapshot: CaSnapshot;
  events: CaEvent[];
  recheckMs: number | undefined;
}

/**
 * Adopts acp-ca as the current CA, or, when it is the root a rotation
 * promoted (this reconcile or before a crash), finishes the rotation: the
 * leftover acp-ca-next is deleted first, then the record forgets the
 * rotation (the old root is not kept: no leaf of it is valid any more).
 */
function adoptOrFinish(world: CaWorld, record: CaRecord, current: CaMaterial): CaEvent[] | CaPlan {
  if (record.rotation?.next !== current.fingerprint) {
    adopt(record, current, world, true);
    return [];
  }
  if (world.next) return writing({ kind: 'deleteNext' });
  record.rotation = undefined;
  adopt(record, current, world, false);
  return [
    {
      type: 'Normal',
      reason: 'CARotationCompleted',
      note: 'the new root replaced the old one; the old root left every trust bundle',
    },
  ];
}

/** The operator's own root: a Secret write, or the record and snapshot once no Secret needs one. */
function ownCa(world: CaWorld, record: CaRecord): CaPlan | Settled {
  const secret = world.ca;
  if (!secret)
    return writing({ kind: 'createRoot', name: CA_SECRET_NAME }, [
      record.current
        ? {
            type: 'Warning',
            reason: 'CACreated',
            note: 'the CA Secret was deleted; a new root was created and the previous root stays trusted until its leaves expire',
          }
        : { type: 'Normal', reason: 'CACreated', note: 'created the mesh root CA' },
    ]);
  const current = validated(world, CA_SECRET_NAME, secret);
  const next = world.next ? validated(world, CA_NEXT_SECRET_NAME, world.next) : undefined;
  const events = adoptOrFinish(world, record, current);
  if (!Array.isArray(events)) return events;
  const input = rotationInput(world, record, current, next);
  if (!record.rotation && !input.requested && world.next) return writing({ kind: 'deleteNext' });
  const step = stepRotation(input);
  let recheckMs: number | undefined = 0;
  switch (step.action) {
    case 'prepare':
      return writing({ kind: 'createRoot', name: CA_NEXT_SECRET_NAME });
    case 'complete':
      if (!world.next) throw new Problem(`rotation in progress but ${CA_NEXT_SECRET_NAME} is missing`);
      return writing({ kind: 'promote', from: world.next, to: secret });
    case 'start':
      record.rotation = step.state;
      events.push({
        type: 'Normal',
        reason: 'CARotationStarted',
        note: `rotating the mesh root: adding ${step.state.next.slice(0, 23)} to every trust bundle`,
      });
      break;
    case 'advance':
      record.rotation = step.state;
      if (step.event === 'Issuing')
        events.push({
          type: 'Normal',
          reason: 'CARotationIssuing',
          note: 'every trust bundle holds the new root; issuing workload certificates from it',
        });
      break;
    case 'none':
      recheckMs = step.recheckAfterMs;
  }
  const issuing = record.rotation?.phase === 'Issuing' ? 'next' : 'current';
  const incoming = record.rotation && next ? signing(next) : undefined;
  const snapshot = buildSnapshot(signing(current), incoming, issuing, record.retiring, world.now);
  return { record, snapshot, events, recheckMs };
}

function userCa(world: CaWorld, record: CaRecord, name: string): Settled {
  if (!world.ca) throw new Problem(`CA Secret ${world.namespace}/${name} does not exist`);
  const ca = validated(world, name, world.ca);
  adopt(record, ca, world, true);
  return {
    record,
    snapshot: buildSnapshot(signing(ca), undefined, 'current', record.retiring, world.now),
    events: [],
    recheckMs: undefined,
  };
}

/** The expiry of the signing CA, and the CAExpiringSoon warning once per CA. */
function expiryOf(world: CaWorld, s: Settled): CaPlan['expiry'] {
  const { snapshot, record } = s;
  const cert = snapshot.trustedIssuers.find((c) => c.fingerprint256 === snapshot.signerFingerprint);
  if (!cert) return undefined;
  const soon = cert.validToDate.getTime() - world.now.getTime() < EXPIRY_WARNING_MS;
  if (soon && record.expiryWarnedFor !== snapshot.signerFingerprint) {
    record.expiryWarnedFor = snapshot.signerFingerprint;
    s.events.push({
      type: 'Warning',
      reason: 'CAExpiringSoon',
      note: `the mesh CA expires on ${cert.validTo}; rotate it (annotate the CA Secret ${ROTATE_ANNOTATION}=requested) or replace the user CA`,
    });
  }
  return { at: cert.validToDate, soon };
}

/** The one next write (if any), the snapshot and when to look again. Pure. */
export function planCa(world: CaWorld): CaPlan {
  const record = parseRecord(world.recordJson);
  let settled: Settled;
  try {
    const r = world.userCaName ? userCa(world, record, world.userCaName) : ownCa(world, record);
    if ('write' in r) return r;
    settled = r;
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    return {
      write: undefined,
      events: [],
      snapshot: undefined,
      problem: { reason: 'CAInvalid', message: e.message },
      expiry: undefined,
      requeueAfterMs: 30_000,
    };
  }
  settled.record.retiring = settled.record.retiring.filter((r) => Date.parse(r.until) > world.now.getTime());
  const expiry = expiryOf(world, settled);
  const changed = JSON.stringify(settled.record, null, 2) !== world.recordJson;
  return {
    write: changed ? { kind: 'record', record: settled.record } : undefined,
    events: settled.events,
    snapshot: settled.snapshot,
    problem: undefined,
    expiry,
    requeueAfterMs: Math.min(settled.recheckMs ?? MAX_RECHECK_MS, MAX_RECHECK_MS),
  };
}
