// Encodes and signs X.509 v3 certificates (RFC 5280) from a fixed template
// with the DER encoder in der.ts and node:crypto signatures: the hot path
// of workload identity issuance. Also reads back the two things a signer
// needs from its CA certificate (subject Name DER, subjectKeyIdentifier).
// Pure apart from the randomness of serial numbers.
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  bool,
  children,
  context,
  octetString,
  oid,
  read,
  seq,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8,
} from './der.ts';
import type { KeyAlgorithm } from './keys.ts';

const OID = {
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  rsaSha256: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

export const KEY_USAGE = {
  digitalSignature: 0x80,
  keyEncipherment: 0x20,
  keyCertSign: 0x04,
  cRLSign: 0x02,
} as const;

export interface CertificateTemplate {
  /** The issuer Name, DER (the CA's subject); for a self-signed certificate, the subject. */
  issuerDer: Buffer;
  subject: { commonName?: string; organization?: string };
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo, DER. */
  spkiDer: Buffer;
  ca: boolean;
  /** Key usage bits of the first byte (KEY_USAGE flags). */
  keyUsage: number;
  extKeyUsage: ('serverAuth' | 'clientAuth')[];
  uriSans: readonly string[];
  dnsSans: readonly string[];
  ipSans: readonly string[];
  /** The issuer's key identifier, hex (authorityKeyIdentifier); omitted when undefined. */
  authorityKeyId?: string;
  signer: { key: KeyObject; algorithm: KeyAlgorithm };
}

function algorithmIdentifier(alg: KeyAlgorithm): { der: Buffer; hash: string } {
  if (alg === 'ECDSA-P256') return { der: seq(oid(OID.ecdsaSha256)), hash: 'sha256' };
  if (alg === 'ECDSA-P384') return { der: seq(oid(OID.ecdsaSha384)), hash: 'sha384' };
  return { der: seq(oid(OID.rsaSha256), Buffer.from([0x05, 0x00])), hash: 'sha256' };
}

/** A Name with an optional CN and O (empty SEQUENCE when neither). */
export function nameDer(subject: { commonName?: string; organization?: string }): Buffer {
  const rdns: Buffer[] = [];
  if (subject.organization) rdns.push(set(seq(oid(OID.organization), utf8(subject.organization))));
  if (subject.commonName) rdns.push(set(seq(oid(OID.commonName), utf8(subject.commonName))));
  return seq(...rdns);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octetString(value)) : seq(oid(id), octetString(value));
}

function keyUsageBits(flags: number): Buffer {
  let unused = 0;
  while (unused < 7 && ((flags >> unused) & 1) === 0) unused++;
  return bitString(Buffer.from([flags]), unused);
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

/** The subjectKeyIdentifier of a SubjectPublicKeyInfo: SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 (1)). */
export function keyIdentifier(spkiDer: Buffer): Buffer {
  const [, subjectPublicKey] = children(read(spkiDer));
  return createHash('sha1')
    .update((subjectPublicKey?.content ?? Buffer.alloc(1)).subarray(1))
    .digest();
}

function extensions(t: CertificateTemplate): Buffer {
  const list = [
    extension(OID.basicConstraints, true, t.ca ? seq(bool(true)) : seq()),
    extension(OID.keyUsage, true, keyUsageBits(t.keyUsage)),
  ];
  if (t.extKeyUsage.length > 0)
    list.push(extension(OID.extKeyUsage, false, seq(...t.extKeyUsage.map((u) => oid(OID[u])))));
  const names = [
    ...t.uriSans.map((u) => context(6, Buffer.from(u, 'ascii'), false)),
    ...t.dnsSans.map((d) => context(2, Buffer.from(d, 'ascii'), false)),
    ...t.ipSans.map((ip) => context(7, ipBytes(ip), false)),
  ];
  // RFC 5280 4.2.1.6: critical when the subject is empty.
  const emptySubject = !t.subject.commonName && !t.subject.organization;
  if (names.length > 0) list.push(extension(OID.subjectAltName, emptySubject, seq(...names)));
  list.push(extension(OID.subjectKeyId, false, octetString(keyIdentifier(t.spkiDer))));
  if (t.authorityKeyId)
    list.push(
      extension(OID.authorityKeyId, false, seq(context(0, Buffer.from(t.authorityKeyId, 'hex'), false))),
    );
  return context(3, seq(...list), true);
}

/** A positive 127-bit serial number as hex (RFC 5280 4.1.2.2: positive, <= 20 octets, unpredictable). */
export function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = 0x40 | ((bytes[0] ?? 0) & 0x3f);
  return bytes;
}

/** Encodes the TBSCertificate, signs it, and returns the certificate DER. */
export function encodeCertificate(t: CertificateTemplate, serial: Buffer = randomSerial()): Buffer {
  const alg = algorithmIdentifier(t.signer.algorithm);
  const tbs = seq(
    context(0, smallInteger(2), true),
    unsignedInteger(serial),
    alg.der,
    t.issuerDer,
    seq(time(t.notBefore), time(t.notAfter)),
    nameDer(t.subject),
    t.spkiDer,
    extensions(t),
  );
  const signature = sign(alg.hash, tbs, t.signer.key);
  return seq(tbs, alg.der, bitString(signature));
}

export function derToPem(der: Buffer, label = 'CERTIFICATE'): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

export function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function extensionsOf(certDer: Buffer): { id: Buffer; value: Buffer }[] {
  const [tbs] = children(read(certDer));
  const wrapper = tbs ? children(tbs).find((f) => f.tag === 0xa3) : undefined;
  const [list] = wrapper ? children(wrapper) : [];
  return (list ? children(list) : []).flatMap((ext) => {
    const parts = children(ext);
    const id = parts[0];
    const value = parts[parts.length - 1];
    return id && value ? [{ id: id.raw, value: value.content }] : [];
  });
}

/** The first byte of the keyUsage bits, or undefined when the certificate has no keyUsage extension. */
export function readKeyUsage(certDer: Buffer): number | undefined {
  const ext = extensionsOf(certDer).find((e) => e.id.equals(oid(OID.keyUsage)));
  if (!ext) return undefined;
  return read(ext.value).content[1] ?? 0;
}

/** The subject Name (DER) and the subjectKeyIdentifier (hex, if present) of a certificate. */
export function readSubjectAndKeyId(certDer: Buffer): { subjectDer: Buffer; subjectKeyId?: string } {
  const [tbs] = children(read(certDer));
  if (!tbs) throw new Error('certificate: no TBSCertificate');
  const fields = children(tbs);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  if (!subject) throw new Error('certificate: no subject');
  const ski = extensionsOf(certDer).find((e) => e.id.equals(oid(OID.subjectKeyId)));
  const subjectKeyId = ski ? read(ski.value).content.toString('hex') : undefined;
  return subjectKeyId === undefined ? { subjectDer: subject.raw } : { subjectDer: subject.raw, subjectKeyId };
}
