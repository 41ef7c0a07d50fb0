// Leader election on a coordination.k8s.io/v1 Lease. Exactly one replica
// writes: the holder renews every retry period; another replica takes
// over once the lease has not been renewed for its duration, measured on
// its own clock from when it last saw the record change (clock-skew safe,
// like client-go). A leader that has not renewed within the renew deadline
// stops counting as leader at once (canWrite() turns false) and is told to
// stop. On shutdown the leader releases the lease so a successor starts at
// once.
import type { Logger } from 'pino';
import { errorMessage } from '@acp/crds';
import type { KubeClient } from './client.ts';
import { isConflict, isNotFound } from './errors.ts';
import { RESOURCES, resourcePath, type Lease } from './resources.ts';
import type { Clock } from './clock.ts';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  clock: Clock;
  logger: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onTransition?: (leader: boolean) => void;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'onTransition'>> &
    Pick<LeaderElectionOptions, 'onTransition'>;
  private leading = false;
  private lastRenew = 0;
  private observed: { holder: string; renewTime: string; rv: string } | undefined;
  private observedAt = 0;
  private cancelTimer: (() => void) | undefined;
  private stopped = false;

  constructor(opts: LeaderElectionOptions) {
    const o = { leaseDurationMs: 10_000, renewDeadlineMs: 7_000, retryPeriodMs: 2_000, ...opts };
    // A lease request that hangs (apiserver frozen) must not stall the renew loop.
    this.o = {
      ...o,
      client: o.client.withOptions({ requestTimeoutMs: Math.max(1000, Math.floor(o.renewDeadlineMs / 2)) }),
    };
  }

  /** True while this replica holds the lease and renewed it within the renew deadline. */
  canWrite(): boolean {
    return this.leading && this.o.clock.now().getTime() - this.lastRenew < this.o.renewDeadlineMs;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  private path(name?: string): string {
    return resourcePath(RESOURCES.lease, this.o.namespace, name);
  }

  private body(existing: Lease | undefined, now: Date): Lease {
    const mine = existing?.spec?.holderIdentity === this.o.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.o.name,
        namespace: this.o.namespace,
        ...(existing ? { resourceVersion: existing.metadata.resourceVersion ?? '' } : {}),
      },
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
        acquireTime: mine && existing?.spec?.acquireTime ? existing.spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (existing?.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
  }

  /** One attempt to acquire or renew; true when this replica holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.o.clock.now();
    const existing = await this.o.client.find<Lease>(this.path(this.o.name));
    if (!existing) {
      await this.o.client.create(this.path(), this.body(undefined, now));
      return true;
    }
    const spec = existing.spec ?? {};
    const record = {
      holder: spec.holderIdentity ?? '',
      renewTime: spec.renewTime ?? '',
      rv: existing.metadata.resourceVersion ?? '',
    };
    if (
      !this.observed ||
      this.observed.holder !== record.holder ||
      this.observed.renewTime !== record.renewTime
    ) {
      this.observed = record;
      this.observedAt = now.getTime();
    }
    const heldByOther = record.holder !== '' && record.holder !== this.o.identity;
    const duration = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (heldByOther && this.observedAt + duration > now.getTime()) return false;
    await this.o.client.replace(this.path(this.o.name), this.body(existing, now));
    return true;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let held = false;
    try {
      held = await this.tryAcquireOrRenew();
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e))
        this.o.logger.warn(
          { err: errorMessage(e), lease: this.o.name },
          'leader election: lease update failed',
        );
    }
    const now = this.o.clock.now().getTime();
    if (held) this.lastRenew = now;
    if (held && !this.leading) {
      this.leading = true;
      this.o.logger.info({ lease: this.o.name }, 'became leader');
      this.o.onTransition?.(true);
      this.o.onStartedLeading();
    } else if (this.leading && !this.canWrite()) {
      this.leading = false;
      this.o.logger.error(
        { identity: this.o.identity, lease: this.o.name },
        'lost leadership: could not renew the lease within the renew deadline',
      );
      this.o.onTransition?.(false);
      this.o.onStoppedLeading();
    }
    if (!this.stopped) this.cancelTimer = this.o.clock.setTimer(() => void this.tick(), this.o.retryPeriodMs);
  }

  /** Stops electing; a leader gives the lease up so a successor can take over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    if (!this.leading) return;
    this.leading = false;
    try {
      const existing = await this.o.client.find<Lease>(this.path(this.o.name));
      if (existing?.spec?.holderIdentity === this.o.identity) {
        await this.o.client.replace(this.path(this.o.name), {
          ...existing,
          spec: {
            ...existing.spec,
            holderIdentity: null,
            leaseDurationSeconds: 1,
            renewTime: microTime(this.o.clock.now()),
          },
        });
      }
    } catch (e) {
      this.o.logger.warn({ err: errorMessage(e) }, 'could not release the lease');
    }
  }
}
