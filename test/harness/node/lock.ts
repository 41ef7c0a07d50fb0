// The host-wide lock of the real node. One machine can run one node at a
// time (one bridge, one node address, host iptables chains, the cgroup and
// netns bookkeeping of teardown), so `startRealCluster` takes this lock
// before it touches the host and `stopRealCluster` releases it after its
// teardown. Another run waits for it. The lock is a directory (mkdir is
// atomic) holding the owner's pid and node directory; it is stale when the
// process that started it is gone, except that a node started by
// `cluster:up` (owner 0) stays locked while its node-state.json exists.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive } from '../controlplane.ts';

export const NODE_LOCK = process.env['ACP_NODE_LOCK'] ?? '/run/acp-real-node.lock';

interface Owner {
  /** The process that started the node. */
  pid: number;
  dir: string;
  /** The node outlives its starter (`cluster:up`): held while its node-state.json exists. */
  persistent: boolean;
}

function readOwner(): Owner | undefined {
  try {
    return JSON.parse(readFileSync(join(NODE_LOCK, 'owner.json'), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/** Whether the recorded owner no longer holds a node. A lock without an owner file is being written: not stale. */
function stale(owner: Owner | undefined): boolean {
  if (!owner) return false;
  if (alive(owner.pid)) return false;
  return !owner.persistent || !existsSync(join(owner.dir, 'node-state.json'));
}

/** Takes the lock for `dir`, waiting up to `timeoutMs` for another node to finish. */
export async function acquireNodeLock(
  dir: string,
  ownerPid: number,
  log: (line: string) => void,
  timeoutMs = 60 * 60_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      mkdirSync(NODE_LOCK);
      writeFileSync(
        join(NODE_LOCK, 'owner.json'),
        JSON.stringify({ pid: process.pid, dir, persistent: ownerPid === 0 } satisfies Owner),
      );
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readOwner();
    if (owner?.dir === dir || stale(owner)) {
      rmSync(NODE_LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > until)
      throw new Error(`the real node is locked by ${JSON.stringify(owner)} (${NODE_LOCK}) for too long`);
    if (!told) log(`node: waiting for the real node held by ${JSON.stringify(owner)} (${NODE_LOCK})`);
    told = true;
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

/** Releases the lock if `dir` holds it. */
export function releaseNodeLock(dir: string): void {
  if (readOwner()?.dir === dir) rmSync(NODE_LOCK, { recursive: true, force: true });
}
