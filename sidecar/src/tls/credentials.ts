// Workload credentials from the identity directory (tls.crt with its chain,
// tls.key, ca.crt = every trusted root), validated before anyone uses them:
// the key matches the leaf, every link of the chain is signed by the next
// and the last by a root of the bundle, and the leaf is within its validity
// period. `validateCredentials` is pure over the PEM text and a clock;
// `readCredentials` is the thin file-reading shell.
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AcpError, IDENTITY_FILES, errorMessage } from '@acp/crds/sidecar';
import { parseSubjectAltName } from './peer-identity.ts';

export interface CredentialFiles {
  cert: string;
  key: string;
  ca: string;
}

export interface Credentials {
  readonly files: CredentialFiles;
  /** sha256 of the three files: a reload with the same material is a no-op. */
  readonly fingerprint: string;
  readonly leaf: X509Certificate;
  /** The leaf's SPIFFE ID, when it has exactly one URI SAN. */
  readonly selfId: string | undefined;
  readonly notAfterMs: number;
  readonly roots: readonly X509Certificate[];
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitPemCertificates(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERT) ?? []).map((block) => new X509Certificate(block));
}

function invalid(message: string, cause?: unknown): AcpError {
  return new AcpError(
    'ACP_ERR_CREDENTIALS_INVALID',
    message,
    {},
    cause === undefined ? undefined : { cause },
  );
}

function checkChain(chain: readonly X509Certificate[], roots: readonly X509Certificate[]): void {
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i];
    const parent = chain[i + 1];
    if (!child || !parent) continue;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      throw invalid(`tls.crt: certificate ${i} is not signed by certificate ${i + 1} of the chain`);
    }
  }
  const top = chain[chain.length - 1];
  if (!top) throw invalid('tls.crt holds no certificate');
  const anchored = roots.some(
    (root) =>
      top.fingerprint256 === root.fingerprint256 || (top.checkIssued(root) && top.verify(root.publicKey)),
  );
  if (!anchored) throw invalid('tls.crt does not chain to a root in ca.crt');
}

/** Validates PEM material; throws ACP_ERR_CREDENTIALS_INVALID naming the problem. */
export function validateCredentials(files: CredentialFiles, nowMs: number): Credentials {
  let chain: X509Certificate[];
  let roots: X509Certificate[];
  try {
    chain = splitPemCertificates(files.cert);
    roots = splitPemCertificates(files.ca);
  } catch (e) {
    throw invalid(`unparsable certificate: ${errorMessage(e)}`, e);
  }
  const leaf = chain[0];
  if (!leaf) throw invalid('tls.crt holds no certificate');
  if (roots.length === 0) throw invalid('ca.crt holds no certificate');
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(files.key))) throw invalid('tls.key does not match tls.crt');
  } catch (e) {
    if (e instanceof AcpError) throw e;
    throw invalid(`tls.key is not a usable private key: ${errorMessage(e)}`, e);
  }
  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  if (nowMs < notBefore) throw invalid(`tls.crt is not valid before ${leaf.validFrom}`);
  if (nowMs >= notAfter) throw invalid(`tls.crt expired at ${leaf.validTo}`);
  checkChain(chain, roots);
  const uris = parseSubjectAltName(leaf.subjectAltName).filter((s) => s.type === 'URI');
  const fingerprint = createHash('sha256')
    .update(files.cert)
    .update('\0')
    .update(files.key)
    .update('\0')
    .update(files.ca)
    .digest('hex');
  return {
    files,
    fingerprint,
    leaf,
    selfId: uris.length === 1 ? uris[0]?.value : undefined,
    notAfterMs: notAfter,
    roots,
  };
}

/** Reads tls.crt, tls.key and ca.crt from the identity directory (following the `..data` symlinks). */
export async function readCredentialFiles(dir: string): Promise<CredentialFiles> {
  try {
    const [cert, key, ca] = await Promise.all([
      readFile(join(dir, IDENTITY_FILES.cert), 'utf8'),
      readFile(join(dir, IDENTITY_FILES.key), 'utf8'),
      readFile(join(dir, IDENTITY_FILES.ca), 'utf8'),
    ]);
    return { cert, key, ca };
  } catch (e) {
    throw new AcpError(
      'ACP_ERR_CREDENTIALS_UNREADABLE',
      `cannot read the identity directory ${dir}: ${errorMessage(e)}`,
      {},
      { cause: e },
    );
  }
}
