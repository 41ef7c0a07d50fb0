// Test doubles for the I/O edges (the fake clock is @acp/kube/testing): an in-memory
// CertStore (Secret + caBundles) with optimistic concurrency, a silent
// logger. Used by unit tests only.
import { AcpError } from '@acp/crds';
import pino, { type Logger } from 'pino';
import type { StoredSecret } from '../certs/codec.ts';
import type { CertStore } from '../certs/manager.ts';

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
