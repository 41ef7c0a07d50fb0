// Hot reload of the mounted files. Kubernetes updates a ConfigMap/Secret
// volume by swapping the `..data` symlink, so the DIRECTORIES are watched
// (plus a slow poll as a safety net; fs.watch can miss events). On any
// change the files are read again and, when their content differs, handed
// to `apply`, which validates before it swaps; a bad file keeps the last
// good material, is logged and counted once per distinct content. Content
// equal to what was last accepted is not parsed again (the poll used to
// re-parse and re-compile it every 5 s: a ~5 ms pause of the event loop
// each time under load), except the credentials once a minute, so a
// certificate that expires without being rotated is still reported.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AcpError, errorMessage } from '@acp/crds/sidecar';
import type { Metrics } from './metrics.ts';
import { readCredentialFiles, type CredentialFiles } from './tls/credentials.ts';

export interface ReloadTargets {
  /** Validates and swaps; returns false when the content equals what is in force. Throws on invalid input. */
  config(text: string): boolean;
  credentials(files: CredentialFiles): boolean;
}

export interface ReloaderOptions {
  configPath: string;
  identityDir: string;
  watchDirs: readonly string[];
  pollMs: number;
  debounceMs: number;
  targets: ReloadTargets;
  log: Logger;
  metrics: Metrics;
  nowMs: () => number;
}

/** How often unchanged credentials are validated again (expiry). */
const REVALIDATE_MS = 60_000;

export interface Reloader {
  /** Checks the files now (also what the watcher and the poll call). */
  check(): Promise<void>;
  close(): void;
}

export async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new AcpError(
      'ACP_ERR_CONFIG_UNREADABLE',
      `cannot read the config file ${path}: ${errorMessage(e)}`,
    );
  }
}

export function startReloader(o: ReloaderOptions): Reloader {
  const lastBad = { config: '', credentials: '' };
  /** The content last accepted (applied or equal to what is in force), and when. */
  const lastGood = { config: '', credentials: '' };
  const lastGoodAt = { config: 0, credentials: 0 };
  let running: Promise<void> | null = null;
  let again = false;

  const attempt = (kind: 'config' | 'credentials', key: string, fn: () => boolean): void => {
    const now = o.nowMs();
    if (key === lastGood[kind] && (kind === 'config' || now - lastGoodAt[kind] < REVALIDATE_MS)) return;
    try {
      if (fn()) {
        o.metrics.reload(kind, 'success');
        o.log.info({ type: 'event', kind }, `${kind} reloaded`);
      }
      o.metrics.reloadRefused(kind, false);
      lastBad[kind] = '';
      lastGood[kind] = key;
      lastGoodAt[kind] = now;
    } catch (e) {
      lastGood[kind] = '';
      o.metrics.reloadRefused(kind, true);
      if (lastBad[kind] === key) return;
      lastBad[kind] = key;
      o.metrics.reload(kind, 'failure');
      o.log.error(
        {
          type: 'event',
          kind,
          code: e instanceof AcpError ? e.code : 'ACP_ERR_INTERNAL',
          err: errorMessage(e),
        },
        `${kind} reload refused; keeping the last good ${kind}`,
      );
    }
  };

  async function once(): Promise<void> {
    let text: string | undefined;
    let files: CredentialFiles | undefined;
    try {
      text = await readConfigText(o.configPath);
    } catch (e) {
      attempt('config', `unreadable:${errorMessage(e)}`, () => {
        throw e;
      });
    }
    try {
      files = await readCredentialFiles(o.identityDir);
    } catch (e) {
      attempt('credentials', `unreadable:${errorMessage(e)}`, () => {
        throw e;
      });
    }
    if (text !== undefined) attempt('config', text, () => o.targets.config(text));
    if (files !== undefined) {
      const f = files;
      attempt('credentials', f.cert + f.key + f.ca, () => o.targets.credentials(f));
    }
  }

  function check(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = once().finally(() => {
      running = null;
      if (again) {
        again = false;
        void check();
      }
    });
    return running;
  }

  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void check(), o.debounceMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of o.watchDirs) {
    try {
      const w = watch(dir, { persistent: false }, schedule);
      w.on('error', (e) =>
        o.log.warn({ type: 'event', dir, err: errorMessage(e) }, 'watch error; polling continues'),
      );
      watchers.push(w);
    } catch (e) {
      o.log.warn({ type: 'event', dir, err: errorMessage(e) }, 'cannot watch directory; polling only');
    }
  }
  const poll = setInterval(() => void check(), o.pollMs);
  poll.unref();
  return {
    check,
    close() {
      clearInterval(poll);
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
