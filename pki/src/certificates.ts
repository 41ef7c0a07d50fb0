// Issues X.509 certificates: self-signed roots and leaves signed by a CA,
// through the template encoder (template.ts) and node:crypto. The Signer
// interface is what the identity controller and the webhook's
// serving-certificate manager depend on. Time comes in as a parameter.
import { createPrivateKey } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { generateKeyPair, keyAlgorithmOfKey, privateKeyPem, spkiDer, type KeyAlgorithm } from './keys.ts';
import {
  derToPem,
  encodeCertificate,
  KEY_USAGE,
  keyIdentifier,
  nameDer,
  pemToDer,
  randomSerial,
  readSubjectAndKeyId,
} from './template.ts';

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
  /** Hex. */
  serialNumber: string;
}

export interface LeafRequest {
  commonName?: string;
  uriSans?: readonly string[];
  dnsSans?: readonly string[];
  ipSans?: readonly string[];
  keyAlgorithm: KeyAlgorithm;
  lifetimeMs: number;
  /** notBefore = now - backdateMs, for clocks that lag behind. */
  backdateMs: number;
  usages: ('serverAuth' | 'clientAuth')[];
  now: Date;
}

/** Signs leaf certificates with one CA key. */
export interface Signer {
  /** The CA certificate that signs (PEM). */
  readonly caCertPem: string;
  /** Certificates between the signing CA and a root, CA-side first, excluding the root (PEM, may be empty). */
  readonly chainPem: readonly string[];
  readonly keyAlgorithm: KeyAlgorithm;
  readonly notAfter: Date;
  issue(request: LeafRequest): Promise<IssuedCertificate>;
}

export interface RootRequest {
  commonName: string;
  keyAlgorithm: KeyAlgorithm;
  lifetimeMs: number;
  now: Date;
}

const HOUR = 3_600_000;

export async function createRootCa(req: RootRequest): Promise<IssuedCertificate> {
  const keys = await generateKeyPair(req.keyAlgorithm);
  const spki = spkiDer(keys.publicKey);
  const subject = { commonName: req.commonName, organization: 'acp.dev' };
  const notBefore = new Date(req.now.getTime() - HOUR);
  const notAfter = new Date(req.now.getTime() + req.lifetimeMs);
  const serial = randomSerial();
  const der = encodeCertificate(
    {
      issuerDer: nameDer(subject),
      subject,
      notBefore,
      notAfter,
      spkiDer: spki,
      ca: true,
      keyUsage: KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign,
      extKeyUsage: [],
      uriSans: [],
      dnsSans: [],
      ipSans: [],
      authorityKeyId: keyIdentifier(spki).toString('hex'),
      signer: { key: keys.privateKey, algorithm: req.keyAlgorithm },
    },
    serial,
  );
  return {
    certPem: derToPem(der),
    keyPem: privateKeyPem(keys.privateKey),
    notBefore,
    notAfter,
    serialNumber: serial.toString('hex'),
  };
}

/** Creates a Signer from a CA certificate and its private key (both PEM). Validate the CA first (validateCa). */
export function createSigner(caCertPem: string, caKeyPem: string, chainPem: readonly string[] = []): Signer {
  const key = createPrivateKey(caKeyPem);
  const algorithm = keyAlgorithmOfKey(key);
  const caDer = pemToDer(caCertPem);
  const { subjectDer, subjectKeyId } = readSubjectAndKeyId(caDer);
  const caCert = new X509Certificate(caDer);
  const authorityKeyId =
    subjectKeyId ?? keyIdentifier(caCert.publicKey.export({ type: 'spki', format: 'der' })).toString('hex');
  const caNotAfter = caCert.validToDate;
  return {
    caCertPem,
    chainPem,
    keyAlgorithm: algorithm,
    notAfter: caNotAfter,
    async issue(req: LeafRequest): Promise<IssuedCertificate> {
      const keys = await generateKeyPair(req.keyAlgorithm);
      const notBefore = new Date(req.now.getTime() - req.backdateMs);
      const wanted = new Date(req.now.getTime() + req.lifetimeMs);
      // A leaf never outlives its issuer.
      const notAfter = wanted > caNotAfter ? caNotAfter : wanted;
      const serial = randomSerial();
      const der = encodeCertificate(
        {
          issuerDer: subjectDer,
          subject: req.commonName ? { commonName: req.commonName } : {},
          notBefore,
          notAfter,
          spkiDer: spkiDer(keys.publicKey),
          ca: false,
          keyUsage:
            KEY_USAGE.digitalSignature | (req.keyAlgorithm.startsWith('RSA') ? KEY_USAGE.keyEncipherment : 0),
          extKeyUsage: req.usages,
          uriSans: req.uriSans ?? [],
          dnsSans: req.dnsSans ?? [],
          ipSans: req.ipSans ?? [],
          authorityKeyId,
          signer: { key, algorithm },
        },
        serial,
      );
      return {
        certPem: derToPem(der),
        keyPem: privateKeyPem(keys.privateKey),
        notBefore,
        notAfter,
        serialNumber: serial.toString('hex'),
      };
    },
  };
}
