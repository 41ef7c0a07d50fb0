// A JWKS fetched by the sidecar itself from `remoteJwks.uri`, for keys that
// rotate faster than the operator re-embeds them: fetched on first need and
// when a token names an unknown key, never more often than the cooldown,
// with a timeout and a cap on the body size. A failed fetch keeps the keys
// it had (and the embedded keys stay in force). fetch and clock are passed in.
import { createLocalJWKSet, errors } from 'jose';
import type { JWK, JWTVerifyGetKey } from 'jose';
import { AcpError, errorMessage } from '@acp/crds/sidecar';

export interface RemoteJwksSettings {
  uri: string;
  timeoutMs: number;
  maxBytes: number;
  cooldownMs: number;
}

export interface RemoteJwksDeps {
  fetch: typeof fetch;
  nowMs: () => number;
  onError: (uri: string, error: unknown) => void;
}

export interface RemoteJwks {
  readonly getKey: JWTVerifyGetKey;
  /** Fetches now unless within the cooldown; resolves to whether keys are held. */
  refresh(): Promise<boolean>;
}

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new AcpError('ACP_ERR_JWKS_TOO_LARGE', `JWKS body exceeds ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JWKS document, keeping public keys only. */
export function parseJwks(text: string): { keys: JWK[] } {
  const doc = JSON.parse(text) as unknown;
  const keys = (doc as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new AcpError('ACP_ERR_JWKS_INVALID', 'JWKS has no "keys" array');
  return {
    keys: keys.filter(
      (k): k is JWK =>
        typeof k === 'object' && k !== null && !('d' in k) && typeof (k as JWK).kty === 'string',
    ),
  };
}

export function createRemoteJwks(settings: RemoteJwksSettings, deps: RemoteJwksDeps): RemoteJwks {
  let keySet: JWTVerifyGetKey | null = null;
  let lastAttemptMs = -Infinity;
  let inflight: Promise<boolean> | null = null;

  async function fetchOnce(): Promise<boolean> {
    try {
      const res = await deps.fetch(settings.uri, {
        signal: AbortSignal.timeout(settings.timeoutMs),
        headers: { accept: 'application/json' },
        redirect: 'error',
      });
      if (res.status !== 200) throw new AcpError('ACP_ERR_JWKS_FETCH', `JWKS fetch answered ${res.status}`);
      keySet = createLocalJWKSet(parseJwks(await readCapped(res, settings.maxBytes)));
    } catch (e) {
      deps.onError(
        settings.uri,
        e instanceof AcpError ? e : new AcpError('ACP_ERR_JWKS_FETCH', errorMessage(e)),
      );
    }
    return keySet !== null;
  }

  function refresh(): Promise<boolean> {
    if (inflight) return inflight;
    if (deps.nowMs() - lastAttemptMs < settings.cooldownMs) return Promise.resolve(keySet !== null);
    lastAttemptMs = deps.nowMs();
    inflight = fetchOnce().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (keySet) {
      try {
        return await keySet(header, token);
      } catch (e) {
        if (!(e instanceof errors.JWKSNoMatchingKey)) throw e;
      }
    }
    await refresh();
    if (!keySet) throw new errors.JWKSNoMatchingKey();
    return keySet(header, token);
  };
  return { getKey, refresh };
}
