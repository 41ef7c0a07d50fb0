// The test control plane itself: it starts from the cached binaries, and
// its processes never outlive their owner, even when the owner is killed
// with SIGKILL (a crashed or interrupted test run).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureBinaries } from '../harness/binaries.ts';
import { alive, startControlPlane, stopControlPlane } from '../harness/controlplane.ts';

function childrenOf(pid: number): number[] {
  const dir = `/proc/${pid}/task`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((t) => {
    try {
      return readFileSync(join(dir, t, 'children'), 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number)
        .filter((c) => {
          try {
            return readFileSync(`/proc/${c}/comm`, 'utf8').trim() !== 'sleep';
          } catch {
            return false;
          }
        });
    } catch {
      return [];
    }
  });
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

describe('test control plane', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acp-harness-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stops etcd and kube-apiserver when its owner is killed with SIGKILL', async () => {
    const owner = spawn('sleep', ['300'], { stdio: 'ignore' });
    assert.ok(owner.pid);
    const state = await startControlPlane({
      dir: join(dir, 'cp'),
      binaries: ensureBinaries(),
      ownerPid: owner.pid,
    });
    try {
      const procs = [...childrenOf(state.pids.etcd), ...childrenOf(state.pids.apiserver)];
      assert.equal(procs.length, 2, 'one etcd and one kube-apiserver under their supervisors');
      assert.ok(procs.every(alive));
      owner.kill('SIGKILL');
      const gone = await until(() => procs.every((p) => !alive(p)), 15_000);
      assert.equal(gone, true, `still running: ${procs.filter(alive).join(', ')}`);
      const supervisorsGone = await until(
        () => !alive(state.pids.etcd) && !alive(state.pids.apiserver),
        5000,
      );
      assert.equal(supervisorsGone, true, 'the supervisors exited too');
    } finally {
      stopControlPlane(state);
    }
  });

  it('writes a kubeconfig that reaches the apiserver with the admin certificate', async () => {
    const state = await startControlPlane({
      dir: join(dir, 'cp2'),
      binaries: ensureBinaries(),
      ownerPid: process.pid,
    });
    try {
      const kubeconfig = readFileSync(state.kubeconfig, 'utf8');
      assert.match(kubeconfig, /client-certificate-data: /);
      assert.match(kubeconfig, new RegExp(`server: https://127.0.0.1:${state.apiserverPort}`));
      assert.ok(state.startSeconds > 0 && state.startSeconds < 120);
    } finally {
      stopControlPlane(state);
    }
  });
});
