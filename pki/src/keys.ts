// Key pairs for the PKI: generation per key algorithm (node:crypto, off the
// main thread), PEM export, and recognising the algorithm of a PEM key.
// No I/O.
import { createPrivateKey, generateKeyPair as generate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { AcpError, type KeyAlgorithm } from '@acp/crds';

export type { KeyAlgorithm };
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = [
  'ECDSA-P256',
  'ECDSA-P384',
  'RSA-2048',
  'RSA-3072',
  'RSA-4096',
];

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const generateAsync = promisify(generate);

export async function generateKeyPair(alg: KeyAlgorithm): Promise<KeyPair> {
  switch (alg) {
    case 'ECDSA-P256':
      return generateAsync('ec', { namedCurve: 'prime256v1' });
    case 'ECDSA-P384':
      return generateAsync('ec', { namedCurve: 'secp384r1' });
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096':
      return generateAsync('rsa', { modulusLength: Number(alg.slice(4)), publicExponent: 65537 });
  }
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function spkiDer(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** The key algorithm of a private key, or an ACP_ERR_UNSUPPORTED_KEY error naming what it is. */
export function keyAlgorithmOfKey(key: KeyObject): KeyAlgorithm {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec' && d.namedCurve === 'prime256v1') return 'ECDSA-P256';
  if (key.asymmetricKeyType === 'ec' && d.namedCurve === 'secp384r1') return 'ECDSA-P384';
  if (key.asymmetricKeyType === 'rsa' && [2048, 3072, 4096].includes(d.modulusLength ?? 0)) {
    return `RSA-${d.modulusLength}` as KeyAlgorithm;
  }
  throw new AcpError(
    'ACP_ERR_UNSUPPORTED_KEY',
    `unsupported key: ${key.asymmetricKeyType ?? 'unknown'} ${d.namedCurve ?? d.modulusLength ?? ''}`.trim(),
  );
}

/** The key algorithm of a PEM private key (PKCS#8, SEC1 or PKCS#1). */
export function keyAlgorithmOf(pem: string): KeyAlgorithm {
  return keyAlgorithmOfKey(createPrivateKey(pem));
}
