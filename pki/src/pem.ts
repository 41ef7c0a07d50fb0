// Splits and parses PEM bundles (a chain, a trust bundle). No I/O.
import { X509Certificate } from 'node:crypto';
import { AcpError } from '@acp/crds';

const BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate block of a PEM bundle, normalized to end with a newline. */
export function splitPemCertificates(bundle: string): string[] {
  return (bundle.match(BLOCK) ?? []).map((b) => `${b}\n`);
}

/** Parses every certificate of a bundle; a block that does not parse is an error naming its position. */
export function parseCertificates(bundle: string, what: string): X509Certificate[] {
  return splitPemCertificates(bundle).map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (e) {
      throw new AcpError(
        'ACP_ERR_BAD_CERTIFICATE',
        `${what}: certificate #${i + 1} does not parse`,
        {},
        { cause: e },
      );
    }
  });
}

/** True when `child` was issued and signed by `parent`. */
export function signedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/** Walks from `leaf` through `intermediates` to one of `roots`; the path (leaf first, root last) or undefined. */
export function buildChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  roots: readonly X509Certificate[],
): X509Certificate[] | undefined {
  const path = [leaf];
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    const root = roots.find((r) => signedBy(current, r));
    if (root) return current.fingerprint256 === root.fingerprint256 ? path : [...path, root];
    const next = intermediates.find((c) => !path.includes(c) && signedBy(current, c));
    if (!next) return undefined;
    path.push(next);
    current = next;
  }
  return undefined;
}
