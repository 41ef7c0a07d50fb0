// Test doubles for the I/O edges: a clock the test moves, an in-memory
// CertStore (Secret + caBundles) with optimistic concurrency, a silent
// logger. Used by unit tests only.
import { AcpError } from '@acp/crds';
import pino, { type Logger } from 'pino';
import type { StoredSecret } from '../certs/codec.ts';
import type { CertStore } from '../certs/manager.ts';
import type { Clock } from '../runtime/clock.ts';

export class FakeClock implements Clock {
  #now: number;
  timers: { at: number; fn: () => void }[] = [];
  constructor(start: Date) {
    this.#now = start.getTime();
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(ms: number): void {
    this.#now += ms;
    const due = this.timers.filter((t) => t.at <= this.#now);
    this.timers = this.timers.filter((t) => t.at > this.#now);
    for (const t of due) t.fn();
  }
  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
}

export class MemoryCertStore implements CertStore {
  secret: StoredSecret | undefined;
  bundles: string[];
  version = 0;
  writes = 0;
  /** Makes the next writeSecret fail as if another replica wrote first. */
  conflictOnce = false;

  constructor(entries = 3) {
    this.bundles = Array.from({ length: entries }, () => '');
  }

  readSecret(): Promise<StoredSecret | undefined> {
    return Promise.resolve(this.secret ? structuredClone(this.secret) : undefined);
  }

  writeSecret(secret: StoredSecret): Promise<StoredSecret> {
    if (this.conflictOnce || secret.resourceVersion !== this.secret?.resourceVersion) {
      this.conflictOnce = false;
      return Promise.reject(new AcpError('ACP_ERR_CONFLICT', 'changed meanwhile'));
    }
    this.writes++;
    this.secret = { ...structuredClone(secret), resourceVersion: String(++this.version) };
    return Promise.resolve(structuredClone(this.secret));
  }

  readBundles(): Promise<string[]> {
    return Promise.resolve([...this.bundles]);
  }

  writeBundles(pem: string): Promise<void> {
    this.bundles = this.bundles.map(() => pem);
    return Promise.resolve();
  }
}

export const silentLogger = (): Logger => pino({ level: 'silent' });
