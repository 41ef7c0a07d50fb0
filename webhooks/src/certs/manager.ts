// The serving-certificate manager: reads the Secret and the published
// caBundles through a CertStore, asks the planner for the next step,
// applies it (PKI from @acp/pki: its own small CA, ECDSA P-256),
// writes the Secret with optimistic concurrency (several replicas may run
// this: the loser of a conflict re-reads next time), and hands the leaf it
// finds in the Secret to the server (hot reload). Runs every periodMs or
// sooner when the planner says so.
import { AcpError, errorMessage } from '@acp/crds';
import { createRootCa, createSigner } from '@acp/pki';
import type { Logger } from 'pino';
import type { Clock } from '@acp/kube';
import {
  bundleFingerprints,
  KEYS,
  PUBLISHED_ANNOTATION,
  readSecret,
  RETIRE_ANNOTATION,
  type StoredSecret,
} from './codec.ts';
import { nextStep, type CertSettings, type Step } from './plan.ts';

export interface CertStore {
  readSecret(): Promise<StoredSecret | undefined>;
  /** Creates (no resourceVersion) or replaces (with one); throws AcpError ACP_ERR_CONFLICT when someone else wrote first. */
  writeSecret(secret: StoredSecret): Promise<StoredSecret>;
  /** The caBundle (PEM, '' when unset) of every webhook entry of the managed configurations. */
  readBundles(): Promise<string[]>;
  /** Writes the bundle into every webhook entry's caBundle. */
  writeBundles(pem: string): Promise<void>;
}

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
}

export interface CertManagerOptions {
  store: CertStore;
  settings: CertSettings;
  clock: Clock;
  log: Logger;
  /** Called with every new leaf found in the Secret (and the first one). */
  onServe: (cert: ServingCertificate) => void;
  onStep?: (step: Step['kind']) => void;
  /** Regular check interval (default 60 s). */
  periodMs?: number;
}

const MAX_STEPS = 8;
const ISSUER_CN = 'acp-webhook-ca';

export class ServingCertManager {
  readonly #o: CertManagerOptions;
  #forceCaRotation = false;
  #served: ServingCertificate | undefined;
  #cancel: (() => void) | undefined;
  #running = false;

  constructor(options: CertManagerOptions) {
    this.#o = options;
  }

  /** The leaf currently handed to the server. */
  current(): ServingCertificate | undefined {
    return this.#served;
  }

  /** The next reconcile starts a CA rotation (for a compromised CA, and for tests). */
  requestCaRotation(): void {
    this.#forceCaRotation = true;
  }

  /** Runs steps until the planner has nothing to do now; returns the steps taken and when to look again. */
  async reconcile(): Promise<{ steps: Step['kind'][]; nextCheckMs: number }> {
    const steps: Step['kind'][] = [];
    let secret = await this.#o.store.readSecret();
    let nextCheckMs = this.#o.periodMs ?? 60_000;
    try {
      for (let i = 0; i < MAX_STEPS; i++) {
        const now = this.#o.clock.now();
        const { state } = readSecret(secret);
        const published =
          state.bundle.length > 0 && (await this.#published(state.bundle.map((c) => c.fingerprint)));
        const step = nextStep({
          state,
          published,
          now,
          settings: this.#o.settings,
          forceCaRotation: this.#forceCaRotation,
        });
        if (step.kind === 'none' || step.kind === 'wait') {
          const until = step.kind === 'none' ? step.nextCheckMs : step.untilMs - now.getTime();
          nextCheckMs = Math.max(100, Math.min(nextCheckMs, until));
          break;
        }
        steps.push(step.kind);
        this.#o.onStep?.(step.kind);
        this.#o.log.info(
          { step: step.kind, why: 'why' in step ? step.why : undefined },
          'serving certificate step',
        );
        secret = await this.#apply(step, secret, now);
      }
    } finally {
      this.#serve(secret);
    }
    return { steps, nextCheckMs };
  }

  /** Reconciles now and then whenever due, until stop(). Errors are logged and retried. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const loop = async (): Promise<void> => {
      let wait = this.#o.periodMs ?? 60_000;
      try {
        wait = Math.min(wait, (await this.reconcile()).nextCheckMs);
      } catch (e) {
        this.#o.log.warn({ err: errorMessage(e) }, 'serving certificate reconcile failed; retrying');
        wait = Math.min(wait, 5000);
      }
      if (this.#running) this.#cancel = this.#o.clock.setTimer(() => void loop(), wait);
    };
    void loop();
  }

  stop(): void {
    this.#running = false;
    this.#cancel?.();
  }

  async #published(fingerprints: string[]): Promise<boolean> {
    const bundles = await this.#o.store.readBundles();
    const want = [...fingerprints].sort().join(',');
    return (
      bundles.length > 0 && bundles.every((pem) => [...bundleFingerprints(pem)].sort().join(',') === want)
    );
  }

  #serve(secret: StoredSecret | undefined): void {
    const { state } = readSecret(secret);
    const certPem = secret?.data[KEYS.cert];
    const keyPem = secret?.data[KEYS.key];
    if (!state.leaf || !certPem || !keyPem) return;
    if (this.#served?.certPem === certPem) return;
    this.#served = { certPem, keyPem };
    this.#o.log.info(
      { notAfter: state.leaf.notAfter.toISOString(), issuer: state.leaf.issuer },
      'serving certificate loaded',
    );
    this.#o.onServe(this.#served);
  }

  async #newCa(now: Date): Promise<{ certPem: string; keyPem: string }> {
    return createRootCa({
      commonName: ISSUER_CN,
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: this.#o.settings.caLifetimeMs,
      now,
    });
  }

  async #newLeaf(
    signerCertPem: string,
    signerKeyPem: string,
    now: Date,
  ): Promise<{ certPem: string; keyPem: string }> {
    const { sans } = this.#o.settings;
    return createSigner(signerCertPem, signerKeyPem).issue({
      commonName: sans.find((s) => s.startsWith('DNS:'))?.slice(4) ?? 'acp-webhook',
      dnsSans: sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)),
      ipSans: sans.filter((s) => s.startsWith('IP:')).map((s) => s.slice(3)),
      keyAlgorithm: 'ECDSA-P256',
      lifetimeMs: this.#o.settings.leafLifetimeMs,
      backdateMs: 5 * 60_000,
      usages: ['serverAuth'],
      now,
    });
  }

  async #apply(step: Step, secret: StoredSecret | undefined, now: Date): Promise<StoredSecret | undefined> {
    const { bundlePems } = readSecret(secret);
    const data = { ...(secret?.data ?? {}) };
    const annotations = { ...(secret?.annotations ?? {}) };
    switch (step.kind) {
      case 'bootstrap': {
        const ca = await this.#newCa(now);
        const leaf = await this.#newLeaf(ca.certPem, ca.keyPem, now);
        Object.assign(data, {
          [KEYS.signerCert]: ca.certPem,
          [KEYS.signerKey]: ca.keyPem,
          [KEYS.bundle]: ca.certPem,
          [KEYS.cert]: leaf.certPem,
          [KEYS.key]: leaf.keyPem,
        });
        Reflect.deleteProperty(annotations, PUBLISHED_ANNOTATION);
        Reflect.deleteProperty(annotations, RETIRE_ANNOTATION);
        this.#forceCaRotation = false;
        break;
      }
      case 'rotateCa': {
        const ca = await this.#newCa(now);
        Object.assign(data, {
          [KEYS.signerCert]: ca.certPem,
          [KEYS.signerKey]: ca.keyPem,
          [KEYS.bundle]: [ca.certPem, ...bundlePems.values()].join(''),
        });
        Reflect.deleteProperty(annotations, PUBLISHED_ANNOTATION);
        this.#forceCaRotation = false;
        break;
      }
      case 'publish':
        await this.#o.store.writeBundles(data[KEYS.bundle] ?? '');
        return secret;
      case 'markPublished': {
        const signer = readSecret(secret).state.signer;
        annotations[PUBLISHED_ANNOTATION] = `${signer?.fingerprint ?? ''} ${now.toISOString()}`;
        break;
      }
      case 'issueLeaf': {
        const leaf = await this.#newLeaf(data[KEYS.signerCert] ?? '', data[KEYS.signerKey] ?? '', now);
        Object.assign(data, { [KEYS.cert]: leaf.certPem, [KEYS.key]: leaf.keyPem });
        if (bundlePems.size > 1) {
          annotations[RETIRE_ANNOTATION] = new Date(
            now.getTime() + this.#o.settings.retireGraceMs,
          ).toISOString();
        }
        break;
      }
      case 'trimBundle':
        data[KEYS.bundle] = step.keep.map((fp) => bundlePems.get(fp) ?? '').join('');
        Reflect.deleteProperty(annotations, RETIRE_ANNOTATION);
        break;
      default:
        throw new AcpError('ACP_ERR_INTERNAL', `unexpected step ${step.kind}`);
    }
    const next: StoredSecret = { data, annotations };
    if (secret?.resourceVersion) next.resourceVersion = secret.resourceVersion;
    return this.#o.store.writeSecret(next);
  }
}
