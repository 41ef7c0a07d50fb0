import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handshakeFailureCode, verifyErrorCode } from './handshake-errors.ts';

describe('verifyErrorCode', () => {
  const cases: [string, unknown, string][] = [
    ['names an expired certificate', 'CERT_HAS_EXPIRED', 'ACP_ERR_PEER_CERT_EXPIRED'],
    ['names a certificate that is not yet valid', 'CERT_NOT_YET_VALID', 'ACP_ERR_PEER_CERT_NOT_YET_VALID'],
    [
      'names a leaf whose issuer is not in the bundle an unknown issuer',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'ACP_ERR_PEER_CERT_UNKNOWN_ISSUER',
    ],
    [
      'names a chain that ends at a root not in the bundle an unknown issuer',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'ACP_ERR_PEER_CERT_UNKNOWN_ISSUER',
    ],
    ['names a self-signed leaf self-signed', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ACP_ERR_PEER_CERT_SELF_SIGNED'],
    ['names a signature that does not verify', 'CERT_SIGNATURE_FAILURE', 'ACP_ERR_PEER_CERT_BAD_SIGNATURE'],
    ['names a certificate not meant for client auth', 'INVALID_PURPOSE', 'ACP_ERR_PEER_CERT_KEY_USAGE'],
    ['names an intermediate that is not a CA a bad chain', 'INVALID_CA', 'ACP_ERR_PEER_CERT_BAD_CHAIN'],
    ['names a malformed validity field', 'ERROR_IN_CERT_NOT_AFTER_FIELD', 'ACP_ERR_PEER_CERT_MALFORMED'],
    [
      'falls back to the generic code for an unknown verify error',
      'UNSPECIFIED',
      'ACP_ERR_TLS_BAD_CLIENT_CERT',
    ],
    ['falls back to the generic code when there is no error text', undefined, 'ACP_ERR_TLS_BAD_CLIENT_CERT'],
    ['does not trust an inherited property name', 'constructor', 'ACP_ERR_TLS_BAD_CLIENT_CERT'],
  ];
  for (const [name, input, code] of cases) it(name, () => assert.equal(verifyErrorCode(input), code));
});

describe('handshakeFailureCode', () => {
  const err = (message: string, code?: string): Error & { code?: string } =>
    Object.assign(new Error(message), code ? { code } : {});
  const cases: [string, Error & { code?: string }, unknown, string][] = [
    [
      'prefers the verify error to the socket error it caused',
      err('socket hang up', 'ECONNRESET'),
      'CERT_HAS_EXPIRED',
      'ACP_ERR_PEER_CERT_EXPIRED',
    ],
    [
      'names an old protocol version',
      err('unsupported protocol', 'ERR_SSL_UNSUPPORTED_PROTOCOL'),
      undefined,
      'ACP_ERR_TLS_PROTOCOL_VERSION',
    ],
    [
      'names a cipher mismatch',
      err('no shared cipher', 'ERR_SSL_NO_SHARED_CIPHER'),
      undefined,
      'ACP_ERR_TLS_NO_SHARED_CIPHER',
    ],
    [
      'names a missing client certificate',
      err('peer did not return a certificate', 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'),
      undefined,
      'ACP_ERR_TLS_NO_CLIENT_CERT',
    ],
    [
      'calls anything else a handshake failure',
      err('socket hang up', 'ECONNRESET'),
      undefined,
      'ACP_ERR_TLS_HANDSHAKE',
    ],
    ['ignores an empty verify error', err('socket hang up', 'ECONNRESET'), '', 'ACP_ERR_TLS_HANDSHAKE'],
  ];
  for (const [name, e, authorizationError, code] of cases) {
    it(name, () => assert.equal(handshakeFailureCode(e, authorizationError), code));
  }
});
