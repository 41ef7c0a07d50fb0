// Validation of a JSON Web Key Set before its keys are embedded in a
// sidecar configuration: only public signature keys of the types and
// curves the sidecar verifies with. Our policy rules come first: the whole
// set is refused (a typed AcpError naming the key) when it holds a private
// or symmetric key, an unknown key type, an RSA key under the minimum
// size, a duplicate kid, or too many keys; encryption keys (use "enc",
// key_ops without "verify", ECDH curves) are dropped. Then every kept key
// (its public members, exactly what is embedded) is parsed by jose, the
// library the sidecar verifies tokens with: a key jose cannot import (an
// EC point not on its curve, a malformed modulus) is refused here instead
// of failing every token in the sidecar. The kept keys are sorted by kid,
// so a set that the identity provider merely reorders compiles to the same
// configuration. Used for inline keys (spec.jwt.providers[].jwks: the
// operator, the webhook's admission, `acp validate`) and for keys the
// operator fetches from jwksUri. Pure (asynchronous only because jose's
// key import is).
import { Buffer } from 'node:buffer';
import { importJWK } from 'jose';
import { AcpError, errorMessage } from '../errors.ts';

/** Stable codes of a refused JWKS (AcpError.code; details.keyIndex names the key). */
export const JWKS_KEY_ERRORS = {
  jwksInvalid: 'ACP_ERR_JWKS_INVALID',
  jwksInvalidKey: 'ACP_ERR_JWKS_INVALID_KEY',
  jwksPrivateKey: 'ACP_ERR_JWKS_PRIVATE_KEY',
  jwksSymmetricKey: 'ACP_ERR_JWKS_SYMMETRIC_KEY',
  jwksWeakKey: 'ACP_ERR_JWKS_WEAK_KEY',
  jwksUnknownKeyType: 'ACP_ERR_JWKS_UNKNOWN_KEY_TYPE',
  jwksTooManyKeys: 'ACP_ERR_JWKS_TOO_MANY_KEYS',
  jwksDuplicateKid: 'ACP_ERR_JWKS_DUPLICATE_KID',
  jwksNoKeys: 'ACP_ERR_JWKS_NO_KEYS',
} as const;

/** A public signature key as embedded in the sidecar configuration. */
export interface Jwk {
  kty: 'RSA' | 'EC' | 'OKP';
  kid?: string;
  use?: 'sig';
  alg?: string;
  crv?: string;
  n?: string;
  e?: string;
  x?: string;
  y?: string;
}

export interface JwksLimits {
  /** The most keys a set may hold (all keys counted, also the ones dropped). */
  maxKeys: number;
  /** The smallest RSA modulus accepted, in bits. */
  minRsaBits: number;
}

export const DEFAULT_JWKS_LIMITS: JwksLimits = { maxKeys: 32, minRsaBits: 2048 };

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'] as const;
const SIGNATURE_CURVES: Record<string, string> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };
/** jose (and so the sidecar) verifies EdDSA with Ed25519 only. */
const EDDSA_CURVES = new Set(['Ed25519']);
const ECDH_CURVES = new Set(['X25519', 'X448']);
const SIGNATURE_ALGORITHMS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]);
const BASE64URL = /^[A-Za-z0-9_-]+$/;

type RawKey = Record<string, unknown>;

function fail(code: string, index: number, key: RawKey | undefined, what: string): never {
  const kid = typeof key?.['kid'] === 'string' ? key['kid'] : undefined;
  const name = kid === undefined ? `key ${index}` : `key ${index} (kid "${kid}")`;
  throw new AcpError(
    code,
    `${name}: ${what}`,
    kid === undefined ? { keyIndex: index } : { keyIndex: index, kid },
  );
}

const str = (key: RawKey, member: string): string | undefined =>
  typeof key[member] === 'string' ? key[member] : undefined;

/** True for keys that are for encryption, not signatures: dropped, not refused. */
function isEncryptionKey(key: RawKey): boolean {
  if (key['use'] === 'enc') return true;
  const ops = key['key_ops'];
  if (Array.isArray(ops) && !ops.includes('verify')) return true;
  const alg = str(key, 'alg');
  if (alg !== undefined && /^(RSA-OAEP|RSA1_5|ECDH-ES|A\d+KW|A\d+GCMKW|dir)/.test(alg)) return true;
  return key['kty'] === 'OKP' && ECDH_CURVES.has(str(key, 'crv') ?? '');
}

function modulusBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i) * 8 - (Math.clz32(bytes[i] ?? 0) - 24);
}

function base64Member(key: RawKey, member: string, index: number): string {
  const value = str(key, member);
  if (value === undefined || !BASE64URL.test(value)) {
    // YAML 1.1 (kubectl) reads an unquoted `y:` key as the boolean true and `n:` as false.
    const asBool = member === 'y' ? 'true' : member === 'n' ? 'false' : undefined;
    const hint =
      value === undefined && asBool !== undefined && asBool in key
        ? ` (quote the key in YAML: "${member}": ..., since YAML 1.1 reads ${member} as ${asBool})`
        : '';
    fail(JWKS_KEY_ERRORS.jwksInvalidKey, index, key, `member "${member}" must be a base64url string${hint}`);
  }
  return value;
}

function publicKey(key: RawKey, index: number, limits: JwksLimits): Jwk {
  const kty = key['kty'];
  if (kty === 'RSA') {
    const n = base64Member(key, 'n', index);
    const e = base64Member(key, 'e', index);
    const bits = modulusBits(n);
    if (bits < limits.minRsaBits) {
      fail(
        JWKS_KEY_ERRORS.jwksWeakKey,
        index,
        key,
        `RSA key of ${bits} bits; at least ${limits.minRsaBits} are required`,
      );
    }
    return { kty, n, e };
  }
  const crv = str(key, 'crv') ?? '';
  if (kty === 'EC') {
    if (!(crv in SIGNATURE_CURVES)) {
      fail(JWKS_KEY_ERRORS.jwksInvalidKey, index, key, `EC curve "${crv}" is not one of P-256, P-384, P-521`);
    }
    return { kty, crv, x: base64Member(key, 'x', index), y: base64Member(key, 'y', index) };
  }
  if (!EDDSA_CURVES.has(crv)) {
    fail(JWKS_KEY_ERRORS.jwksInvalidKey, index, key, `OKP curve "${crv}" is not Ed25519`);
  }
  return { kty: 'OKP', crv, x: base64Member(key, 'x', index) };
}

/** Whether a key can verify signatures made with `alg`. */
export function keyMatchesAlgorithm(key: Jwk, alg: string): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false;
  if (/^(RS|PS)\d+$/.test(alg)) return key.kty === 'RSA';
  if (alg === 'EdDSA') return key.kty === 'OKP';
  return key.kty === 'EC' && SIGNATURE_CURVES[key.crv ?? ''] === alg;
}

function checkKey(key: RawKey, index: number): void {
  for (const member of PRIVATE_MEMBERS) {
    if (member in key)
      fail(JWKS_KEY_ERRORS.jwksPrivateKey, index, key, `holds private key material ("${member}")`);
  }
  if (key['kty'] === 'oct' || 'k' in key) {
    fail(
      JWKS_KEY_ERRORS.jwksSymmetricKey,
      index,
      key,
      'is a symmetric (oct) key; only public keys are accepted',
    );
  }
  if (key['kty'] !== 'RSA' && key['kty'] !== 'EC' && key['kty'] !== 'OKP') {
    fail(
      JWKS_KEY_ERRORS.jwksUnknownKeyType,
      index,
      key,
      `key type ${JSON.stringify(key['kty'])} is not RSA, EC or OKP`,
    );
  }
}

function withMetadata(jwk: Jwk, key: RawKey, index: number): Jwk {
  const out: Jwk = { ...jwk, use: 'sig' };
  const kid = str(key, 'kid');
  if (kid !== undefined) out.kid = kid;
  const alg = str(key, 'alg');
  if (alg !== undefined) {
    if (!SIGNATURE_ALGORITHMS.has(alg) || !keyMatchesAlgorithm(out, alg)) {
      fail(
        JWKS_KEY_ERRORS.jwksInvalidKey,
        index,
        key,
        `alg "${alg}" is not a signature algorithm for this key`,
      );
    }
    out.alg = alg;
  }
  return out;
}

const byKid = (a: Jwk, b: Jwk): number => {
  if (a.kid === undefined || b.kid === undefined) return a.kid === b.kid ? 0 : a.kid === undefined ? 1 : -1;
  return a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0;
};

interface Kept {
  jwk: Jwk;
  index: number;
  raw: RawKey;
}

/** Our policy rules over the document: the keys to keep, each with its index; throws on a refusal. */
function keptKeys(json: unknown, limits: JwksLimits): Kept[] {
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (typeof json !== 'object' || json === null || !Array.isArray(keys)) {
    throw new AcpError(JWKS_KEY_ERRORS.jwksInvalid, 'a JWKS must be a JSON object with a "keys" array');
  }
  if (keys.length > limits.maxKeys) {
    throw new AcpError(
      JWKS_KEY_ERRORS.jwksTooManyKeys,
      `${keys.length} keys; at most ${limits.maxKeys} are accepted`,
    );
  }
  const out: Kept[] = [];
  const kids = new Set<string>();
  keys.forEach((raw: unknown, index) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      fail(JWKS_KEY_ERRORS.jwksInvalidKey, index, undefined, 'is not a JSON object');
    }
    const key = raw as RawKey;
    checkKey(key, index);
    if (isEncryptionKey(key)) return;
    const jwk = withMetadata(publicKey(key, index, limits), key, index);
    if (jwk.kid !== undefined) {
      if (kids.has(jwk.kid))
        fail(JWKS_KEY_ERRORS.jwksDuplicateKid, index, key, 'duplicates the kid of an earlier key');
      kids.add(jwk.kid);
    }
    out.push({ jwk, index, raw: key });
  });
  if (out.length === 0)
    throw new AcpError(JWKS_KEY_ERRORS.jwksNoKeys, 'the JWKS holds no public signature key');
  return out;
}

/** The algorithm jose imports a key for: its own alg, or one its type and curve imply. */
function importAlgorithm(jwk: Jwk): string {
  if (jwk.alg !== undefined) return jwk.alg;
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  return SIGNATURE_CURVES[jwk.crv ?? ''] ?? '';
}

function describeKey(jwk: Jwk): string {
  return jwk.kty === 'RSA' ? 'RSA public key' : `${jwk.kty} ${jwk.crv ?? ''} public key`;
}

/** Parses the key with jose, as the sidecar will; throws ACP_ERR_JWKS_INVALID_KEY when it cannot. */
async function importable({ jwk, index, raw }: Kept): Promise<void> {
  try {
    await importJWK({ ...jwk }, importAlgorithm(jwk));
  } catch (e) {
    fail(
      JWKS_KEY_ERRORS.jwksInvalidKey,
      index,
      raw,
      `is not a usable ${describeKey(jwk)} (jose: ${errorMessage(e)}); an EC point must lie on its curve: the sidecar could not verify any token with it`,
    );
  }
}

/**
 * The public signature keys of a JWKS document ({"keys": [...]}), ready to
 * embed; rejects with an AcpError (ACP_ERR_JWKS_*) naming the offending key.
 */
export async function validateJwks(json: unknown, limits: JwksLimits = DEFAULT_JWKS_LIMITS): Promise<Jwk[]> {
  const kept = keptKeys(json, limits);
  const imports = await Promise.allSettled(kept.map(importable));
  // The first refused key in document order, whichever import finished first.
  const refused = imports.find((r) => r.status === 'rejected');
  if (refused) throw refused.reason;
  return kept.map((k) => k.jwk).sort(byKid);
}
