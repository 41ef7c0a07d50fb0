// The real node's host lock: one node per machine, stale owners taken over.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = mkdtempSync(join(tmpdir(), 'acp-lock-'));
process.env['ACP_NODE_LOCK'] = join(root, 'lock');
const { acquireNodeLock, releaseNodeLock, NODE_LOCK } = await import('./lock.ts');

function deadPid(): number {
  return spawnSync('true').pid ?? 1 << 22;
}

test('a second node waits until the first releases the lock', async () => {
  await acquireNodeLock(join(root, 'a'), process.pid, () => undefined);
  let second = false;
  const waits: string[] = [];
  const p = acquireNodeLock(join(root, 'b'), process.pid, (l) => waits.push(l)).then(() => (second = true));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(second, false, 'the second node must not start while the first holds the lock');
  assert.equal(waits.length, 1, 'the waiter says once what it waits for');
  releaseNodeLock(join(root, 'a'));
  await p;
  assert.equal(second, true);
  releaseNodeLock(join(root, 'b'));
});

test('a lock whose starter process is gone is taken over', async () => {
  mkdirSync(NODE_LOCK);
  writeFileSync(
    join(NODE_LOCK, 'owner.json'),
    JSON.stringify({ pid: deadPid(), dir: '/x', persistent: false }),
  );
  await acquireNodeLock(join(root, 'c'), process.pid, () => undefined, 1_000);
  releaseNodeLock(join(root, 'c'));
});

test('a node left running by cluster:up keeps its lock while its state file exists', async () => {
  const dir = join(root, 'up');
  mkdirSync(dir);
  writeFileSync(join(dir, 'node-state.json'), '{}');
  mkdirSync(NODE_LOCK);
  writeFileSync(join(NODE_LOCK, 'owner.json'), JSON.stringify({ pid: deadPid(), dir, persistent: true }));
  await assert.rejects(
    acquireNodeLock(join(root, 'd'), process.pid, () => undefined, 100),
    /locked by/,
  );
  releaseNodeLock(dir);
});

test('releasing a lock held by another node leaves it in place', async () => {
  await acquireNodeLock(join(root, 'e'), process.pid, () => undefined);
  releaseNodeLock(join(root, 'f'));
  await assert.rejects(
    acquireNodeLock(join(root, 'g'), process.pid, () => undefined, 100),
    /locked by/,
  );
  releaseNodeLock(join(root, 'e'));
});
