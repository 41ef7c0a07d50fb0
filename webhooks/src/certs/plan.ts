// The serving-certificate state machine, as a pure function from the
// stored state (parsed from the Secret), whether the webhook
// configurations carry the stored CA bundle, and the time, to the ONE next
// step. The manager applies steps until there is none. Order of a CA
// rotation, so the apiserver never meets a certificate it cannot verify:
//   rotateCa      new signing CA, added to the bundle; the old leaf stays served
//   publish       the bundle (old + new CA) is written to every caBundle
//   markPublished the time the new CA was first seen published is recorded
//   issueLeaf     after propagationMs, a leaf from the new CA is served
//   trimBundle    after retireGraceMs (every replica reloaded), the old CA goes
// Pure.

export interface CertInfo {
  /** sha256 fingerprint (node:crypto format). */
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

export interface LeafInfo extends CertInfo {
  /** Fingerprint of the bundle CA that signed it; undefined when none did. */
  issuer: string | undefined;
  /** SANs as `DNS:x` / `IP:x`, sorted. */
  sans: string[];
}

export interface ServingState {
  /** The signing CA (cert and key match, CA:true); undefined when missing or unusable. */
  signer: CertInfo | undefined;
  leaf: LeafInfo | undefined;
  /** The CAs of ca.crt, the bundle to publish. */
  bundle: CertInfo[];
  /** When the current signer was first seen in every caBundle. */
  signerPublishedAt: Date | undefined;
  /** After this time, CAs other than the signer and the leaf's issuer may leave the bundle. */
  retireAfter: Date | undefined;
}

export interface CertSettings {
  caLifetimeMs: number;
  caRenewBeforeMs: number;
  leafLifetimeMs: number;
  leafRenewBeforeMs: number;
  /** How long a published bundle is given to reach every apiserver before a leaf of a new CA is served. */
  propagationMs: number;
  /** How long an old CA stays trusted after a leaf of the new CA is issued (replicas reload meanwhile). */
  retireGraceMs: number;
  /** SANs the leaf must carry, as `DNS:x` / `IP:x`. */
  sans: string[];
}

export interface PlanInput {
  state: ServingState;
  /** True when every webhook entry's caBundle holds exactly the bundle's CAs. */
  published: boolean;
  now: Date;
  settings: CertSettings;
  /** An operator asked for a new CA now (compromise, tests). */
  forceCaRotation: boolean;
}

export type Step =
  | { kind: 'bootstrap'; why: string }
  | { kind: 'rotateCa'; why: string }
  | { kind: 'publish' }
  | { kind: 'markPublished' }
  | { kind: 'issueLeaf'; why: string }
  | { kind: 'trimBundle'; keep: string[] }
  | { kind: 'wait'; untilMs: number; why: string }
  | { kind: 'none'; nextCheckMs: number };

const remaining = (c: CertInfo, now: Date): number => c.notAfter.getTime() - now.getTime();

function leafProblem(input: PlanInput, signer: CertInfo): string | undefined {
  const { leaf } = input.state;
  const { settings, now } = input;
  if (!leaf) return 'no usable serving certificate';
  if (leaf.issuer === undefined) return 'the serving certificate was not issued by a CA of the bundle';
  if (remaining(leaf, now) < settings.leafRenewBeforeMs) return 'the serving certificate is due for renewal';
  if (leaf.notBefore.getTime() > now.getTime()) return 'the serving certificate is not valid yet';
  const want = [...settings.sans].sort();
  if (want.join(',') !== leaf.sans.join(','))
    return `the serving certificate's SANs changed to ${want.join(', ')}`;
  if (leaf.issuer !== signer.fingerprint) return 'the serving certificate is from the previous CA';
  return undefined;
}

function retirement(input: PlanInput, signer: CertInfo): Step | undefined {
  const { state, now } = input;
  const needed = new Set([signer.fingerprint, state.leaf?.issuer ?? signer.fingerprint]);
  const expired = (c: CertInfo): boolean => remaining(c, now) <= 0;
  const graceOver = !state.retireAfter || now >= state.retireAfter;
  const keep = state.bundle.filter((c) => needed.has(c.fingerprint) || (!graceOver && !expired(c)));
  if (keep.length === state.bundle.length) {
    if (graceOver || !state.retireAfter) return undefined;
    return { kind: 'wait', untilMs: state.retireAfter.getTime(), why: 'old CA retirement' };
  }
  return { kind: 'trimBundle', keep: keep.map((c) => c.fingerprint) };
}

function nextCheck(input: PlanInput, signer: CertInfo, wait: Step | undefined): number {
  const { state, settings, now } = input;
  const times = [
    signer.notAfter.getTime() - settings.caRenewBeforeMs,
    (state.leaf?.notAfter.getTime() ?? 0) - settings.leafRenewBeforeMs,
  ];
  if (wait?.kind === 'wait') times.push(wait.untilMs);
  return Math.max(0, Math.min(...times) - now.getTime());
}

/** The one next step towards a valid, published, served certificate. */
export function nextStep(input: PlanInput): Step {
  const { state, settings, now } = input;
  const signer = state.signer;
  if (
    !signer ||
    remaining(signer, now) <= 0 ||
    !state.bundle.some((c) => c.fingerprint === signer.fingerprint)
  ) {
    return {
      kind: 'bootstrap',
      why: signer ? 'the signing CA expired or left the bundle' : 'no usable signing CA',
    };
  }
  if (input.forceCaRotation) return { kind: 'rotateCa', why: 'rotation requested' };
  if (remaining(signer, now) < settings.caRenewBeforeMs)
    return { kind: 'rotateCa', why: 'the signing CA is due for renewal' };
  if (!input.published) return { kind: 'publish' };
  if (!state.signerPublishedAt) return { kind: 'markPublished' };
  const problem = leafProblem(input, signer);
  if (problem) {
    const { leaf } = state;
    const ready = state.signerPublishedAt.getTime() + settings.propagationMs;
    const oldLeafUsable =
      leaf?.issuer !== undefined && remaining(leaf, now) > 0 && leaf.notBefore.getTime() <= now.getTime();
    // A leaf of a newly published CA waits until the bundle has propagated, unless nothing usable is served.
    if (now.getTime() < ready && oldLeafUsable) {
      return { kind: 'wait', untilMs: ready, why: `the new CA is propagating (${problem})` };
    }
    return { kind: 'issueLeaf', why: problem };
  }
  const retire = retirement(input, signer);
  if (retire && retire.kind !== 'wait') return retire;
  return { kind: 'none', nextCheckMs: nextCheck(input, signer, retire) };
}
