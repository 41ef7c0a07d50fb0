// The process plumbing the sidecar benchmarks share (run.ts, h2.ts, mesh.ts,
// hostile.ts): the workspace (a directory, the sidecar built in it, a
// process starter), waiting for a port, stopping a child, the CPU seconds of
// a process and its children from /proc, and the median of a sample.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from '../../../scripts/build.ts';

const run = promisify(execFile);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

/** Resolves once 127.0.0.1:port accepts a connection (30 s at most). */
export async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const open = await new Promise<boolean>((r) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.destroy();
        r(true);
      });
      sock.on('error', () => r(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`port ${port} never came up`);
}

/** SIGTERM, then wait for the exit (at once when it already exited). */
export async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

/** CPU seconds (user + system) used so far by a process and its children (nginx: master + workers). */
export async function treeCpuSeconds(pid: number): Promise<number> {
  const { stdout } = await run('sh', [
    '-c',
    `for p in ${pid} $(pgrep -P ${pid}); do cat /proc/$p/stat; done`,
  ]).catch(() => ({ stdout: '' }));
  let ticks = 0;
  for (const line of stdout.split('\n')) {
    const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11] ?? 0) + Number(f[12] ?? 0);
  }
  return ticks / 100;
}

export interface BenchWorkspace {
  /** A fresh temporary directory: builds, configs and every process's log. */
  dir: string;
  /** The sidecar built from this tree. */
  main: string;
  /** BENCH_BASELINE_TREE=DIR: that checkout, whose sidecar is measured in the same rounds; else null. */
  baselineTree: string | null;
  /** The sidecar built from baselineTree. */
  baselineMain: string | null;
  /** Starts `cmd` with its output appended to DIR/log; every process started is sent SIGTERM at exit. */
  start: (cmd: string[], log: string) => ChildProcess;
}

/** The start of a sidecar benchmark: a directory, the sidecar built there (and the baseline's), and a process starter. */
export function benchWorkspace(prefix: string): BenchWorkspace {
  const root = resolve(import.meta.dirname, '..', '..', '..');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const running = new Set<ChildProcess>();
  process.on('exit', () => {
    for (const p of running) p.kill('SIGTERM');
  });
  build(join(dir, 'dist'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'dist/node_modules'));
  const baselineTree = process.env['BENCH_BASELINE_TREE']
    ? resolve(process.env['BENCH_BASELINE_TREE'])
    : null;
  if (baselineTree) {
    execFileSync(
      process.execPath,
      [join(baselineTree, 'scripts/build.ts'), '--out', join(dir, 'dist-baseline')],
      {
        stdio: 'ignore',
      },
    );
    symlinkSync(join(baselineTree, 'node_modules'), join(dir, 'dist-baseline/node_modules'));
  }
  return {
    dir,
    main: join(dir, 'dist/sidecar/src/main.js'),
    baselineTree,
    baselineMain: baselineTree ? join(dir, 'dist-baseline/sidecar/src/main.js') : null,
    start: (cmd, log) => {
      const quoted = cmd.map((c) => `'${c}'`).join(' ');
      const p = spawn('sh', ['-c', `exec ${quoted} >>'${join(dir, log)}' 2>&1`], { stdio: 'ignore' });
      running.add(p);
      return p;
    },
  };
}
