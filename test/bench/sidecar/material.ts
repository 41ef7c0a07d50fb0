// The benchmarks' test material: a PKI (CA, the sidecar's server
// certificate with its SPIFFE ID, the client certificate of the policy's
// one allowed peer), the identity directory the sidecar reads (tls.crt,
// tls.key, ca.crt), and an ES256 signing key with a bearer token the
// bench policy accepts (issuer https://idp.bench/, audience bench).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { TestPki, type Issued } from '../../../sidecar/src/testing/pki.ts';
import { CLIENT_ID } from './configs.ts';

export interface BenchPki {
  ca: Issued;
  server: Issued;
  client: Issued;
  /** The sidecar's --identity-dir. */
  identityDir: string;
}

/** Makes the PKI under dir/pki and the sidecar's identity directory dir/identity; `serverName`: the server certificate's DNS name. */
export function benchPki(dir: string, serverName: string): BenchPki {
  const pki = new TestPki(join(dir, 'pki'));
  const ca = pki.root('ca');
  const server = pki.workload('server', 'spiffe://cluster.local/ns/bench/sa/proxy', 'ca', serverName);
  const client = pki.workload('client', CLIENT_ID);
  const identityDir = join(dir, 'identity');
  mkdirSync(identityDir);
  writeFileSync(join(identityDir, 'tls.crt'), server.cert);
  writeFileSync(join(identityDir, 'tls.key'), server.key);
  writeFileSync(join(identityDir, 'ca.crt'), ca.cert);
  return { ca, server, client, identityDir };
}

/** A new ES256 key (its public JWK, kid `kid`) and a token it signed, valid for `lifetimeSeconds`. */
export async function benchToken(
  kid: string,
  sub: string,
  lifetimeSeconds: number,
): Promise<{ jwk: JWK; token: string }> {
  const keys = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(keys.publicKey)), kid, alg: 'ES256' };
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub, scope: 'read' })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer('https://idp.bench/')
    .setAudience('bench')
    .setIssuedAt(now)
    .setExpirationTime(now + lifetimeSeconds)
    .sign(keys.privateKey);
  return { jwk, token };
}
