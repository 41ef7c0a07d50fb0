// Reconciles the mesh CA (one key: "ca"): loads the operator's own root
// (creating it once; never regenerating it while its Secret exists) or the
// CA Secret the user names, validates it before anything is issued from
// it, drives a requested root rotation through its phases, keeps retired
// roots trusted until their leaves expire, warns when the root expires
// within 60 days, and publishes the resulting CaSnapshot. Events:
// CACreated, CAInvalid, CARotationStarted, CARotationIssuing,
// CARotationCompleted, CAExpiringSoon.
import type { Logger } from 'pino';
import { CA_SECRET_NAME, errorMessage, isAcpError } from '@acp/crds';
import type { OperatorConfig } from '../config.ts';
import { createRootCa, createSigner, validateCa, type CaMaterial } from '@acp/pki';
import type { Clock, EventRecorder, EventType, Reconciler, ReconcileResult, Secret } from '@acp/kube';
import {
  buildSnapshot,
  EMPTY_SNAPSHOT,
  parseRecord,
  type CaRecord,
  type CaSnapshot,
  type SigningCa,
} from './ca-state.ts';
import {
  CA_NEXT_SECRET_NAME,
  caSecretBody,
  caSourceOf,
  ROTATE_ANNOTATION,
  type CaStore,
} from './ca-secrets.ts';
import type { IdentityMetrics } from './metrics.ts';
import { stepRotation, type RotationInput, type RotationStep } from './rotation.ts';

const DAY = 86_400_000;
const EXPIRY_WARNING_MS = 60 * DAY;

export interface CaControllerDeps {
  store: CaStore;
  config: OperatorConfig;
  clock: Clock;
  events: EventRecorder;
  metrics: IdentityMetrics;
  /** True when every trust bundle that should exist holds this root. */
  allBundlesHold: (fingerprint: string) => boolean;
  /** Issuer fingerprint and notAfter of every stored identity Secret. */
  storedLeaves: () => { issuer: string; notAfter: Date }[];
  /** The longest workload certificate lifetime policies ask for now. */
  maxLifetimeMs: () => number;
  publish: (snapshot: CaSnapshot) => void;
  logger?: Logger;
}

class CaProblem extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
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

export function caReconciler(deps: CaControllerDeps): Reconciler {
  const { store, config, clock } = deps;
  let lastProblem = '';
  const event = (type: EventType, reason: string, note: string): void =>
    deps.events.record(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: store.namespace,
        name: config.caSecretName ?? CA_SECRET_NAME,
      },
      type,
      reason,
      'Reconcile',
      note,
    );

  function validated(secretName: string, source: ReturnType<typeof caSourceOf>): CaMaterial {
    try {
      return validateCa(source, clock.now());
    } catch (e) {
      throw new CaProblem('CAInvalid', `CA Secret ${store.namespace}/${secretName}: ${errorMessage(e)}`);
    }
  }

  function retire(record: CaRecord, fingerprint: string): void {
    if (!record.current || record.current === fingerprint || !record.currentCertPem) return;
    record.retiring.push({
      fingerprint: record.current,
      certPem: record.currentCertPem,
      rootsPem: record.currentRootsPem ?? [record.currentCertPem],
      until: new Date(clock.now().getTime() + deps.maxLifetimeMs()).toISOString(),
    });
  }

  function adopt(record: CaRecord, ca: CaMaterial): void {
    retire(record, ca.fingerprint);
    record.current = ca.fingerprint;
    record.currentCertPem = ca.certPem;
    record.currentRootsPem = ca.rootsPem;
  }

  async function userCa(
    record: CaRecord,
    name: string,
  ): Promise<{ snapshot: CaSnapshot; recheckMs?: number }> {
    const secret = await store.getSecret(name);
    if (!secret) throw new CaProblem('CAInvalid', `CA Secret ${store.namespace}/${name} does not exist`);
    const ca = validated(name, caSourceOf(secret));
    adopt(record, ca);
    return { snapshot: buildSnapshot(signing(ca), undefined, 'current', record.retiring, clock.now()) };
  }

  async function ownRootSecret(
    record: CaRecord,
  ): Promise<{ secret: NonNullable<Awaited<ReturnType<CaStore['getSecret']>>>; created: boolean }> {
    const existing = await store.getSecret(CA_SECRET_NAME);
    if (existing) return { secret: existing, created: false };
    const root = await createRootCa({
      commonName: `acp mesh root (${config.trustDomain})`,
      keyAlgorithm: config.caKeyAlgorithm,
      lifetimeMs: config.caLifetimeMs,
      now: clock.now(),
    });
    const secret = await store.createOnce(caSecretBody(store.namespace, CA_SECRET_NAME, root));
    event(
      record.current ? 'Warning' : 'Normal',
      'CACreated',
      record.current
        ? 'the CA Secret was deleted; a new root was created and the previous root stays trusted until its leaves expire'
        : 'created the mesh root CA',
    );
    return { secret, created: true };
  }

  async function promote(
    record: CaRecord,
    secret: Secret,
    nextSecret: Secret,
    next: CaMaterial,
  ): Promise<void> {
    const promoted = caSourceOf(nextSecret);
    await store.replaceSecret(
      caSecretBody(
        store.namespace,
        CA_SECRET_NAME,
        {
          certPem: promoted.certPem,
          keyPem: promoted.keyPem,
          notAfter: next.notAfter,
          notBefore: next.notBefore,
          serialNumber: '',
        },
        secret,
      ),
    );
    await store.deleteSecret(CA_NEXT_SECRET_NAME);
    record.rotation = undefined;
    record.current = next.fingerprint;
    record.currentCertPem = next.certPem;
    record.currentRootsPem = next.rootsPem;
    event(
      'Normal',
      'CARotationCompleted',
      'the new root replaced the old one; the old root left every trust bundle',
    );
  }

  /** Carries out a rotation step other than completion; returns when to look again. */
  async function applyStep(
    record: CaRecord,
    step: Exclude<RotationStep, { action: 'complete' }>,
  ): Promise<number | undefined> {
    switch (step.action) {
      case 'prepare': {
        const root = await createRootCa({
          commonName: `acp mesh root (${config.trustDomain})`,
          keyAlgorithm: config.caKeyAlgorithm,
          lifetimeMs: config.caLifetimeMs,
          now: clock.now(),
        });
        await store.createOnce(caSecretBody(store.namespace, CA_NEXT_SECRET_NAME, root));
        return 0;
      }
      case 'start':
        record.rotation = step.state;
        event(
          'Normal',
          'CARotationStarted',
          `rotating the mesh root: adding ${step.state.next.slice(0, 23)} to every trust bundle`,
        );
        return 0;
      case 'advance':
        record.rotation = step.state;
        if (step.event === 'Issuing')
          event(
            'Normal',
            'CARotationIssuing',
            'every trust bundle holds the new root; issuing workload certificates from it',
          );
        return 0;
      case 'none':
        return step.recheckAfterMs;
    }
  }

  function rotationInput(
    record: CaRecord,
    requested: boolean,
    current: CaMaterial,
    next: CaMaterial | undefined,
  ): RotationInput {
    const leaves = deps.storedLeaves();
    const oldLeaves = leaves.filter((l) => l.issuer === current.fingerprint);
    return {
      state: record.rotation,
      requested,
      preparedNext: next?.fingerprint,
      allBundlesHaveNext: next ? deps.allBundlesHold(next.fingerprint) : false,
      allLeavesFromNext: next !== undefined && leaves.every((l) => l.issuer === next.fingerprint),
      latestOldLeafNotAfter: oldLeaves.reduce<Date | undefined>(
        (m, l) => (!m || l.notAfter > m ? l.notAfter : m),
        undefined,
      ),
      maxLifetimeMs: deps.maxLifetimeMs(),
      propagationMs: config.bundlePropagationMs,
      now: clock.now(),
    };
  }

  async function ownCa(record: CaRecord): Promise<{ snapshot: CaSnapshot; recheckMs?: number }> {
    const { secret } = await ownRootSecret(record);
    const current = validated(CA_SECRET_NAME, caSourceOf(secret));
    const nextSecret = await store.getSecret(CA_NEXT_SECRET_NAME);
    let next = nextSecret ? validated(CA_NEXT_SECRET_NAME, caSourceOf(nextSecret)) : undefined;
    if (record.rotation && record.rotation.next === current.fingerprint) {
      // Crashed after promoting the new root: finish the bookkeeping.
      record.rotation = undefined;
      if (nextSecret) await store.deleteSecret(CA_NEXT_SECRET_NAME);
      next = undefined;
    }
    adopt(record, current);
    const requested = secret.metadata.annotations?.[ROTATE_ANNOTATION] === 'requested';
    if (!record.rotation && !requested && nextSecret) {
      await store.deleteSecret(CA_NEXT_SECRET_NAME);
      next = undefined;
    }
    const step = stepRotation(rotationInput(record, requested, current, next));
    if (step.action === 'complete') {
      if (!nextSecret || !next)
        throw new CaProblem('CAInvalid', `rotation in progress but ${CA_NEXT_SECRET_NAME} is missing`);
      await promote(record, secret, nextSecret, next);
      return { snapshot: buildSnapshot(signing(next), undefined, 'current', record.retiring, clock.now()) };
    }
    deps.logger?.debug({ step: step.action, phase: record.rotation?.phase }, 'rotation step');
    const recheckMs = await applyStep(record, step);
    const issuing = record.rotation?.phase === 'Issuing' ? 'next' : 'current';
    const snapshot = buildSnapshot(
      signing(current),
      record.rotation && next ? signing(next) : undefined,
      issuing,
      record.retiring,
      clock.now(),
    );
    return recheckMs === undefined ? { snapshot } : { snapshot, recheckMs };
  }

  function checkExpiry(record: CaRecord, snapshot: CaSnapshot): void {
    const cert = snapshot.trustedIssuers.find((c) => c.fingerprint256 === snapshot.signerFingerprint);
    if (!cert) return;
    const expiry = cert.validToDate.getTime();
    deps.metrics.caExpiry.set(expiry / 1000);
    const soon = expiry - clock.now().getTime() < EXPIRY_WARNING_MS;
    deps.metrics.caExpiringSoon.set(soon ? 1 : 0);
    if (soon && record.expiryWarnedFor !== snapshot.signerFingerprint) {
      record.expiryWarnedFor = snapshot.signerFingerprint;
      event(
        'Warning',
        'CAExpiringSoon',
        `the mesh CA expires on ${cert.validTo}; rotate it (annotate the CA Secret ${ROTATE_ANNOTATION}=requested) or replace the user CA`,
      );
    }
  }

  return async (_key, ctx): Promise<ReconcileResult> => {
    const before = await store.readRecord();
    const record = parseRecord(before.json);
    let result: { snapshot: CaSnapshot; recheckMs?: number };
    try {
      result = config.caSecretName ? await userCa(record, config.caSecretName) : await ownCa(record);
    } catch (e) {
      if (!(e instanceof CaProblem)) throw e;
      deps.metrics.caInvalid.set(1);
      if (lastProblem !== e.message) {
        lastProblem = e.message;
        event(
          'Warning',
          e.reason,
          `${e.message}; nothing is issued from it and existing certificates are kept`,
        );
        ctx.logger.error({ reason: e.reason, err: e.message }, 'mesh CA is not usable');
      }
      deps.publish({ ...EMPTY_SNAPSHOT, reason: e.reason, message: e.message });
      return { requeueAfterMs: 30_000 };
    }
    deps.metrics.caInvalid.set(0);
    lastProblem = '';
    record.retiring = record.retiring.filter((r) => Date.parse(r.until) > clock.now().getTime());
    checkExpiry(record, result.snapshot);
    const json = JSON.stringify(record, null, 2);
    if (json !== before.json) await store.writeRecord(record);
    deps.publish(result.snapshot);
    return { requeueAfterMs: Math.min(result.recheckMs ?? 3_600_000, 3_600_000) };
  };
}

export const isCaProblem = (e: unknown): boolean =>
  e instanceof CaProblem || (isAcpError(e) && e.code === 'ACP_ERR_CA_INVALID');
export type { Logger };
