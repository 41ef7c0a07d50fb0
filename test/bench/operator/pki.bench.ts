// Benchmark (not a test): workload certificates issued per second by the
// PKI layer alone, ECDSA P-256 and RSA-2048, ours side by side with the
// general-purpose @peculiar/x509 generator (the peer), in alternating
// rounds; prints medians and ratios. Run: npm run bench:operator -- pki
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createRootCa, createSigner, type KeyAlgorithm } from '@acp/pki';

const ROUND_MS = Number(process.env['ACP_BENCH_ROUND_MS'] ?? 2000);
const ROUNDS = Number(process.env['ACP_BENCH_ROUNDS'] ?? 5);
const BATCH = 16;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function rate(issue: () => Promise<unknown>, ms: number): Promise<number> {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    await Promise.all(Array.from({ length: BATCH }, issue));
    n += BATCH;
  }
  return n / ((performance.now() - start) / 1000);
}

async function peerIssuer(alg: KeyAlgorithm): Promise<() => Promise<unknown>> {
  const crypto = webcrypto as never;
  const subtle = webcrypto.subtle;
  const caKeys = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: 'CN=peer root',
      keys: caKeys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    },
    crypto,
  );
  const params =
    alg === 'ECDSA-P256'
      ? { name: 'ECDSA', namedCurve: 'P-256' }
      : {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        };
  return async () => {
    const keys = await subtle.generateKey(params, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create(
      {
        subject: '',
        issuer: ca.subject,
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 86_400_000),
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([
            x509.ExtendedKeyUsage.serverAuth,
            x509.ExtendedKeyUsage.clientAuth,
          ]),
          new x509.SubjectAlternativeNameExtension(
            [{ type: 'url', value: 'spiffe://cluster.local/ns/a/sa/b' }],
            true,
          ),
        ],
      },
      crypto,
    );
    await subtle.exportKey('pkcs8', keys.privateKey);
    return cert.toString('pem');
  };
}

async function main(): Promise<void> {
  const now = new Date();
  const root = await createRootCa({
    commonName: 'bench root',
    keyAlgorithm: 'ECDSA-P256',
    lifetimeMs: 86_400_000 * 365,
    now,
  });
  const signer = createSigner(root.certPem, root.keyPem);
  const rows: string[] = [];
  for (const alg of ['ECDSA-P256', 'RSA-2048'] as const) {
    const ours = () =>
      signer.issue({
        uriSans: ['spiffe://cluster.local/ns/a/sa/b'],
        keyAlgorithm: alg,
        lifetimeMs: 86_400_000,
        backdateMs: 300_000,
        usages: ['serverAuth', 'clientAuth'],
        now: new Date(),
      });
    const peer = await peerIssuer(alg);
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      a.push(await rate(ours, ROUND_MS));
      b.push(await rate(peer, ROUND_MS));
    }
    const ma = median(a);
    const mb = median(b);
    rows.push(
      `| ${alg} | ${ma.toFixed(0)} | ${mb.toFixed(0)} | ${(ma / mb).toFixed(2)}x | ${a.map((x) => x.toFixed(0)).join(', ')} |`,
    );
  }
  process.stdout.write(
    `PKI layer, certificates/s (batches of ${BATCH} concurrent issuances, ${ROUNDS} alternating rounds of ${ROUND_MS} ms, medians)\n` +
      '| key | acp (DER template + node:crypto) | @peculiar/x509 | ratio | acp rounds |\n| --- | --- | --- | --- | --- |\n' +
      rows.join('\n') +
      '\n',
  );
}

await main();
