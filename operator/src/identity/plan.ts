// Decides what to do with one workload identity, as a pure function of
// what is needed (demand), what exists (the inspected Secret), which CA
// signs now and which CAs are trusted, and the time: keep it (and when to
// look again), issue it (and why), or delete it. Renewal happens at
// notAfter - renewBefore - jitter, the jitter derived from the serial
// number so every replica and restart computes the same time.
import { createHash } from 'node:crypto';
import type { IdentityDemand } from './demand.ts';
import { ANNOTATIONS, type Inspection } from './inspect.ts';

export type IssueReason =
  | 'Missing'
  | 'Expired'
  | 'Renewal'
  | 'KeyAlgorithmChanged'
  | 'LifetimeChanged'
  | 'IssuerChanged'
  | 'Tampered';

export type IdentityPlan =
  | { action: 'keep'; renewAt: Date; notAfter: Date }
  | { action: 'issue'; reason: IssueReason; detail: string }
  | { action: 'delete'; reason: 'NotSelected' }
  | { action: 'none' };

export interface PlanInput {
  demand: IdentityDemand | undefined;
  /** undefined when there is no Secret. */
  existing: Inspection | undefined;
  expectedSpiffeId: string;
  /** Fingerprint of the CA that issues now. */
  signerFingerprint: string;
  /** Fingerprints of every CA whose leaves are still accepted (the signer included). */
  trustedFingerprints: readonly string[];
  now: Date;
}

/** The share of renewBefore by which renewal is brought forward, at most 10% (and at most 1 h). */
export function renewalJitterMs(serialNumber: string, renewBeforeMs: number): number {
  const h = createHash('sha256').update(serialNumber).digest().readUInt32BE(0) / 2 ** 32;
  return Math.floor(h * Math.min(renewBeforeMs * 0.1, 3_600_000));
}

export function renewAt(notAfter: Date, serialNumber: string, renewBeforeMs: number): Date {
  return new Date(notAfter.getTime() - renewBeforeMs - renewalJitterMs(serialNumber, renewBeforeMs));
}

export function planIdentity(input: PlanInput): IdentityPlan {
  const { demand, existing, now } = input;
  if (!demand) return existing ? { action: 'delete', reason: 'NotSelected' } : { action: 'none' };
  if (!existing) return { action: 'issue', reason: 'Missing', detail: 'no identity Secret' };
  if (!existing.ok) return { action: 'issue', reason: 'Tampered', detail: existing.problem };
  const id = existing.value;
  if (id.spiffeIds.length !== 1 || id.spiffeIds[0] !== input.expectedSpiffeId) {
    return {
      action: 'issue',
      reason: 'Tampered',
      detail: `the certificate names ${id.spiffeIds.join(', ') || 'no SPIFFE ID'}, not ${input.expectedSpiffeId}`,
    };
  }
  if (!id.issuerFingerprint || !input.trustedFingerprints.includes(id.issuerFingerprint)) {
    return {
      action: 'issue',
      reason: 'Tampered',
      detail: 'the certificate was not signed by a trusted mesh CA',
    };
  }
  if (now >= id.notAfter)
    return { action: 'issue', reason: 'Expired', detail: `expired at ${id.notAfter.toISOString()}` };
  if (id.issuerFingerprint !== input.signerFingerprint) {
    return { action: 'issue', reason: 'IssuerChanged', detail: 'signed by a CA that is being retired' };
  }
  const s = demand.settings;
  if (id.keyAlgorithm !== s.keyAlgorithm) {
    return {
      action: 'issue',
      reason: 'KeyAlgorithmChanged',
      detail: `${id.keyAlgorithm} -> ${s.keyAlgorithm}`,
    };
  }
  if (id.annotations[ANNOTATIONS.lifetime] !== String(s.lifetimeMs)) {
    return { action: 'issue', reason: 'LifetimeChanged', detail: `lifetime is now ${s.lifetimeMs}ms` };
  }
  const at = renewAt(id.notAfter, id.serialNumber, s.renewBeforeMs);
  if (now >= at) return { action: 'issue', reason: 'Renewal', detail: `due at ${at.toISOString()}` };
  return { action: 'keep', renewAt: at, notAfter: id.notAfter };
}
