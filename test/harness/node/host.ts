// Small host-side helpers for the real node: run a command (throwing a
// NodeError that names what failed), run one that may fail, and wait for a
// condition with an upper bound. Nothing here sleeps for a fixed time except
// between polls.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** A real-node failure with a stable code; the message names what is missing or what failed. */
export type NodeErrorCode =
  | 'ACP_ERR_NODE_PREREQ'
  | 'ACP_ERR_NODE_NETWORK'
  | 'ACP_ERR_NODE_START'
  | 'ACP_ERR_NODE_IMAGE'
  | 'ACP_ERR_NODE_BUSY';

export class NodeError extends Error {
  readonly code: NodeErrorCode;
  constructor(code: NodeErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Runs a command and returns stdout; on failure throws with the command and its stderr. */
export function sh(cmd: string, args: string[], what = `${cmd} ${args.join(' ')}`): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    throw new NodeError(
      'ACP_ERR_NODE_START',
      `${what} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? '')).trim()}`,
    );
  }
  return r.stdout;
}

/** Runs a command whose failure is expected sometimes (cleanup); returns whether it succeeded. */
export function trySh(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

export function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function tailFile(file: string, lines = 25): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Polls `probe` every 250 ms until it returns true; throws with `what` and the log tail at the deadline. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  probe: () => boolean | Promise<boolean>,
  logFile?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      throw new NodeError(
        'ACP_ERR_NODE_START',
        `${what} did not happen within ${Math.round(timeoutMs / 1000)}s${logFile ? `; last lines of ${logFile}:\n${tailFile(logFile)}` : ''}`,
      );
    }
    await sleep(250);
  }
}
