// The last probe round of each policy (key namespace/name), kept in memory
// by the leader between the prober, which writes it, and the policy
// reconciler, which judges and records it: the observations and what they
// are to be compared with as of the round (the compiled config, its hash,
// the expected sidecar version and identities).
import type { SidecarConfig } from '@acp/crds';
import type { Expected } from './integrity.ts';
import type { WorkloadObservation } from './observation.ts';

export interface EvidenceEntry {
  /** When the round that measured these finished. */
  at: string;
  compiled: SidecarConfig;
  expected: Expected;
  observations: WorkloadObservation[];
}

export class EvidenceStore {
  private readonly entries = new Map<string, EvidenceEntry>();

  get(key: string): EvidenceEntry | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: EvidenceEntry): void {
    this.entries.set(key, entry);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Policies with an entry (to drop those whose policy is gone). */
  keys(): string[] {
    return [...this.entries.keys()];
  }
}
