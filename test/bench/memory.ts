// Memory of a process under benchmark, measured the way a pod sees it: it
// runs in a memory cgroup limited like its container in the chart (the
// sidecar's 128Mi, the operator's 256Mi, the webhook's 128Mi), because Node sizes V8's heap from the memory
// it is allowed: on an unconstrained 24 GiB host V8 lets the young
// generation grow to ~100 MB of garbage before collecting, which no pod
// would ever allow. Reported per proxy: peak VmHWM (includes pages of the
// executable shared with every other process running it), peak anonymous
// RSS (sampled RssAnon: the process's own memory, what the limit is about),
// and OOM kills in the cgroup. Without a writable cgroup (v1 memory
// controller or v2 with memory enabled) the proxies run unconstrained and
// the report says so.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface MemoryCgroup {
  /**
   * The command `argv` started inside the cgroup: a shell joins it and execs
   * `argv` (same pid), so the process is constrained from its first
   * instruction and Node sizes V8's heap from the limit.
   */
  readonly wrap: (argv: readonly string[]) => string[];
  readonly limitMb: number;
  /** OOM kills in the cgroup so far. */
  oomKills(): number;
  /** The most memory the cgroup was charged so far (its processes' RSS and page cache), MB. */
  peakMb(): number;
  remove(): void;
}

/** The cgroup's memory limit, from a Kubernetes quantity like `96Mi`. */
export function limitMbOf(quantity: string): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!m) throw new Error(`unsupported memory quantity ${quantity}: use Mi or Gi`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

export function createMemoryCgroup(name: string, limitMb: number): MemoryCgroup | null {
  const bytes = String(limitMb * 1024 * 1024);
  const candidates = [
    {
      dir: '/sys/fs/cgroup/memory',
      limit: 'memory.limit_in_bytes',
      events: 'memory.oom_control',
      peak: 'memory.max_usage_in_bytes',
    },
    { dir: '/sys/fs/cgroup', limit: 'memory.max', events: 'memory.events', peak: 'memory.peak' },
  ];
  for (const c of candidates) {
    const path = join(c.dir, name);
    try {
      if (
        c.dir === '/sys/fs/cgroup' &&
        !readFileSync(join(c.dir, 'cgroup.subtree_control'), 'utf8').includes('memory')
      )
        continue;
      if (!existsSync(path)) mkdirSync(path);
      writeFileSync(join(path, c.limit), bytes);
      return {
        wrap: (argv) => ['sh', '-c', `echo $$ > '${join(path, 'cgroup.procs')}' && exec "$0" "$@"`, ...argv],
        limitMb,
        oomKills: () => Number(/oom_kill (\d+)/.exec(readFileSync(join(path, c.events), 'utf8'))?.[1] ?? 0),
        peakMb: () => Number(readFileSync(join(path, c.peak), 'utf8').trim()) / 1024 / 1024,
        remove: () => {
          try {
            rmdirSync(path);
          } catch {
            // still has a process (a proxy that did not stop): left for the next run's mkdir
          }
        },
      };
    } catch {
      // not writable or no memory controller: try the next layout
    }
  }
  return null;
}

/**
 * A memory cgroup limited like `component`'s container in the chart
 * (values.yaml), removed when this process exits; null when none can be made.
 */
export function chartMemoryCgroup(
  component: 'operator' | 'webhook',
  name: string,
): { limit: string; cgroup: MemoryCgroup | null } {
  const values = parse(
    readFileSync(join(import.meta.dirname, '../../charts/api-compliance-operator/values.yaml'), 'utf8'),
  ) as Record<typeof component, { resources: { limits: { memory: string } } }>;
  const limit = values[component].resources.limits.memory;
  const cgroup = createMemoryCgroup(name, limitMbOf(limit));
  process.on('exit', () => cgroup?.remove());
  return { limit, cgroup };
}

function kbOf(status: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export interface MemorySampler {
  /** Stops sampling; peak VmHWM and peak sampled RssAnon of the process and its children, MB. */
  stop(): { hwmMb: number; anonMb: number };
}

/** Samples the process tree's RssAnon every `everyMs` until stopped. */
export function sampleMemory(pid: number, everyMs = 100): MemorySampler {
  let anonKb = 0;
  let hwmKb = 0;
  const read = (): void => {
    let anon = 0;
    let hwm = 0;
    for (const p of [pid, ...childrenOf(pid)]) {
      try {
        const status = readFileSync(`/proc/${p}/status`, 'utf8');
        anon += kbOf(status, 'RssAnon');
        hwm += kbOf(status, 'VmHWM');
      } catch {
        // exited between listing and reading
      }
    }
    anonKb = Math.max(anonKb, anon);
    hwmKb = Math.max(hwmKb, hwm);
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    stop() {
      read();
      clearInterval(timer);
      return { hwmMb: hwmKb / 1024, anonMb: anonKb / 1024 };
    },
  };
}
