// The prober's loop, run by the leader only: every period, for each policy
// with a compiled ConfigMap, the selected live pods become targets (a pod
// without the injected sidecar is an observation by itself: drift); the
// injected ones are probed within the bounds (concurrency, connections per
// second); the round's observations, with what they are to be compared
// with, go to the EvidenceStore and the policy is enqueued, so the policy
// reconciler records them (status, condition, Events, metrics). A policy
// whose compiled hash changed less than `propagationMs` ago is skipped for
// the round (the kubelet has not delivered the new config yet: probing it
// would report drift that is only delay). Thin I/O shell.
import {
  CONFIG_FILE,
  hasInjectedSidecar,
  policyConfigMapName,
  PORTS,
  spiffeId,
  type SidecarConfig,
} from '@acp/crds';
import type { Clock, ConfigMap, Informer, Pod } from '@acp/kube';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CaSnapshot } from '../identity/ca-state.ts';
import { serviceAccountOf } from '../identity/demand.ts';
import type { PolicyObject } from '../identity/workload-controller.ts';
import { CONFIG_HASH_ANNOTATION } from '../policy/hash.ts';
import { selectedPods } from '../reconcile/status.ts';
import type { WorkloadObservation } from './observation.ts';
import { rateGate, runBounded, type ProbeBounds } from './probe/bounds.ts';
import type { ProbeIdentitySource } from './probe/identity.ts';
import { probeWorkload, type ProbeDeps, type WorkloadTarget } from './probe/workload.ts';
import type { EvidenceStore } from './store.ts';

export interface VerifierMetrics {
  probes: Counter<'result'>;
  roundSeconds: Gauge;
  roundWorkloads: Gauge;
}

export function createVerifierMetrics(registry: Registry): VerifierMetrics {
  const registers = [registry];
  return {
    probes: new Counter({
      name: 'acp_operator_probes_total',
      help: 'Workload probes by result: measured, or the ACP_ERR_PROBE_* code of a probe that could not measure',
      labelNames: ['result'],
      registers,
    }),
    roundSeconds: new Gauge({
      name: 'acp_operator_probe_round_duration_seconds',
      help: 'How long the last probe round took (it must stay below the verify period)',
      registers,
    }),
    roundWorkloads: new Gauge({
      name: 'acp_operator_probe_round_workloads',
      help: 'Workloads probed in the last round',
      registers,
    }),
  };
}

export interface VerifierDeps {
  policies: Informer<PolicyObject>;
  pods: Informer<Pod>;
  configMaps: Informer<ConfigMap>;
  snapshot: () => CaSnapshot;
  identity: ProbeIdentitySource;
  trustDomain: string;
  sidecarVersion: string;
  store: EvidenceStore;
  /** Enqueues a policy (namespace/name) for the reconciler to record its evidence. */
  enqueue: (key: string) => void;
  clock: Clock;
  logger: Logger;
  metrics: VerifierMetrics;
  bounds: ProbeBounds;
  periodMs: number;
  timeoutMs: number;
  propagationMs: number;
  fetch: typeof fetch;
  /** The probe of one workload (tests may pass another; default probeWorkload). */
  probe?: (t: WorkloadTarget, d: ProbeDeps) => Promise<WorkloadObservation>;
}

interface PolicyRound {
  key: string;
  compiled: SidecarConfig;
  hash: string;
  targets: WorkloadTarget[];
  notInjected: WorkloadObservation[];
}

export class Verifier {
  private cancel: (() => void) | undefined;
  private running: Promise<void> | undefined;
  /** When each policy's compiled hash was first seen (propagation grace). */
  private readonly hashSeen = new Map<string, { hash: string; at: number }>();

  private readonly d: VerifierDeps;

  constructor(deps: VerifierDeps) {
    this.d = deps;
  }

  /** Starts the periodic rounds (idempotent; the first round runs at once). */
  start(): void {
    if (this.cancel || this.d.periodMs <= 0) return;
    const tick = (): void => {
      this.running = this.round().catch((e: unknown) =>
        this.d.logger.error({ err: String(e) }, 'probe round failed'),
      );
      void this.running.finally(() => {
        if (this.cancel) this.cancel = this.d.clock.setTimer(tick, this.d.periodMs);
      });
    };
    this.cancel = () => undefined;
    tick();
  }

  /** Stops after the round in flight (leadership lost, shutdown). */
  async stop(): Promise<void> {
    const c = this.cancel;
    this.cancel = undefined;
    c?.();
    await this.running;
  }

  private plan(policy: PolicyObject, now: Date): PolicyRound | undefined {
    const namespace = policy.metadata.namespace ?? '';
    const name = policy.metadata.name ?? '';
    const key = `${namespace}/${name}`;
    const cm = this.d.configMaps.get(namespace, policyConfigMapName(name));
    const text = cm?.data?.[CONFIG_FILE];
    const hash = cm?.metadata.annotations?.[CONFIG_HASH_ANNOTATION];
    if (!text || !hash) return undefined;
    const seen = this.hashSeen.get(key);
    if (seen?.hash !== hash) this.hashSeen.set(key, { hash, at: now.getTime() });
    const since = seen?.hash === hash ? seen.at : now.getTime();
    if (seen !== undefined && now.getTime() - since < this.d.propagationMs) return undefined;
    const compiled = JSON.parse(text) as SidecarConfig;
    const pods = selectedPods(policy, this.d.pods.list(namespace));
    const at = now.toISOString();
    const base = (p: Pod) => ({ pod: p.metadata.name ?? '', namespace, serviceAccount: serviceAccountOf(p) });
    return {
      key,
      compiled,
      hash,
      targets: pods
        .filter((p) => hasInjectedSidecar(p.spec))
        .map((p) => ({
          ...base(p),
          host: p.status?.podIP ?? '',
          inboundPort: PORTS.inbound,
          adminPort: PORTS.admin,
          config: compiled,
        })),
      notInjected: pods
        .filter((p) => !hasInjectedSidecar(p.spec))
        .map((p) => ({ ...base(p), at, injected: false })),
    };
  }

  /** One round over every policy; resolves when every probe finished and every policy was enqueued. */
  async round(): Promise<void> {
    const started = this.d.clock.now();
    const rounds = this.d.policies
      .list()
      .map((p) => this.plan(p, started))
      .filter((r): r is PolicyRound => r !== undefined);
    const identity = await this.d.identity.current(this.d.snapshot(), started);
    const gate = rateGate(this.d.bounds.connectionsPerSecond, this.d.clock);
    const probe = this.d.probe ?? probeWorkload;
    const targets = rounds.flatMap((r) => r.targets.map((t) => ({ r, t })));
    const observed = await runBounded(targets, this.d.bounds.concurrency, async ({ t }) => {
      const o: WorkloadObservation = identity
        ? await probe(t, {
            identity,
            timeoutMs: this.d.timeoutMs,
            now: () => this.d.clock.now(),
            fetch: this.d.fetch,
            beforeConnect: gate,
          })
        : {
            pod: t.pod,
            namespace: t.namespace,
            serviceAccount: t.serviceAccount,
            at: this.d.clock.now().toISOString(),
            injected: true,
            failure: {
              code: 'ACP_ERR_PROBE_NO_IDENTITY',
              message: 'no mesh CA can issue the probe identity yet',
            },
          };
      this.d.metrics.probes.inc({ result: o.failure?.code ?? 'measured' });
      return o;
    });
    const done = this.d.clock.now();
    for (const r of rounds) {
      const observations = [...observed.filter((_, i) => targets[i]?.r === r), ...r.notInjected].sort(
        (a, b) => a.pod.localeCompare(b.pod),
      );
      this.d.store.set(r.key, {
        at: done.toISOString(),
        compiled: r.compiled,
        expected: {
          configHash: r.hash,
          sidecarVersion: this.d.sidecarVersion,
          spiffeId: (sa) => spiffeId(this.d.trustDomain, r.compiled.policy.namespace, sa),
          hsts: r.compiled.tls.hsts.header,
        },
        observations,
      });
      this.d.enqueue(r.key);
    }
    const live = new Set(
      this.d.policies.list().map((p) => `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`),
    );
    for (const k of this.d.store.keys()) if (!live.has(k)) this.d.store.delete(k);
    this.d.metrics.roundSeconds.set((done.getTime() - started.getTime()) / 1000);
    this.d.metrics.roundWorkloads.set(targets.length);
    this.d.logger.info(
      { policies: rounds.length, workloads: targets.length, ms: done.getTime() - started.getTime() },
      'probe round done',
    );
  }
}
