// Test-only: a throwaway PKI made with the real openssl CLI (node:crypto
// cannot sign X.509): a root CA, an intermediate, and leaf certificates
// with whatever SANs, EKUs and basic constraints a test needs, including
// the malformed ones the sidecar must refuse. Not used by the product.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issued {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

export interface LeafSpec {
  /** Extension lines, e.g. "subjectAltName=URI:spiffe://..." */
  san?: string;
  eku?: string;
  ca?: boolean;
  issuer?: string;
  days?: number;
  keyType?: 'ec' | 'rsa';
  /** Validity period as openssl writes it (YYYYMMDDHHMMSSZ), e.g. an expired or not-yet-valid leaf. */
  notBefore?: string;
  notAfter?: string;
  /** Signed by its own key (a self-signed leaf; `issuer` is ignored). */
  selfSigned?: boolean;
}

/** A Date as openssl's ASN.1 time (YYYYMMDDHHMMSSZ). */
export function asn1Time(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** The minimal `openssl ca` configuration: the only openssl command that takes a start and end date. */
const CA_CONFIG = `[ca]
default_ca = d
[d]
database = ca-index.txt
new_certs_dir = .
serial = ca-serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
commonName = supplied
`;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function genKey(dir: string, name: string, type: 'ec' | 'rsa'): void {
  const algorithm =
    type === 'ec'
      ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
      : ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
  openssl(dir, ['genpkey', ...algorithm, '-out', `${name}.key`]);
}

function read(dir: string, name: string): Issued {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

export class TestPki {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** A self-signed root CA named `name`. */
  root(name: string): Issued {
    genKey(this.dir, name, 'ec');
    openssl(this.dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/CN=${name}`,
      '-days',
      '30',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      `${name}.crt`,
    ]);
    return read(this.dir, name);
  }

  /** A certificate `name` signed by `spec.issuer` (default "ca"). */
  issue(name: string, spec: LeafSpec = {}): Issued {
    const issuer = spec.issuer ?? 'ca';
    genKey(this.dir, name, spec.keyType ?? 'ec');
    openssl(this.dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
    const ext = [
      spec.ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=critical,CA:FALSE',
      spec.ca
        ? 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'
        : 'keyUsage=critical,digitalSignature,keyEncipherment',
      ...(spec.eku ? [`extendedKeyUsage=${spec.eku}`] : []),
      ...(spec.san ? [spec.san] : []),
    ].join('\n');
    writeFileSync(join(this.dir, `${name}.ext`), `${ext}\n`);
    if (spec.notBefore || spec.notAfter) {
      this.issueDated(name, issuer, spec);
      return read(this.dir, name);
    }
    const signer = spec.selfSigned
      ? ['-signkey', `${name}.key`]
      : ['-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-CAcreateserial'];
    openssl(this.dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      ...signer,
      '-days',
      String(spec.days ?? 30),
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
    return read(this.dir, name);
  }

  private issueDated(name: string, issuer: string, spec: LeafSpec): void {
    writeFileSync(join(this.dir, 'ca.cnf'), CA_CONFIG);
    writeFileSync(join(this.dir, 'ca-index.txt'), '', { flag: 'a' });
    try {
      writeFileSync(join(this.dir, 'ca-serial'), '1000\n', { flag: 'wx' });
    } catch {
      // the serial file exists: openssl ca increments it
    }
    const now = new Date();
    openssl(this.dir, [
      'ca',
      '-batch',
      '-notext',
      '-config',
      'ca.cnf',
      '-cert',
      `${issuer}.crt`,
      '-keyfile',
      `${issuer}.key`,
      '-in',
      `${name}.csr`,
      '-startdate',
      spec.notBefore ?? asn1Time(now),
      '-enddate',
      spec.notAfter ?? asn1Time(new Date(now.getTime() + 30 * 86_400_000)),
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
  }

  /** A workload leaf with one SPIFFE URI SAN and both EKUs (what the operator issues). */
  workload(name: string, spiffeId: string, issuer = 'ca', dnsName?: string): Issued {
    const san = `subjectAltName=URI:${spiffeId}${dnsName ? `,DNS:${dnsName}` : ''}`;
    return this.issue(name, { san, eku: 'serverAuth,clientAuth', issuer });
  }

  path(file: string): string {
    return join(this.dir, file);
  }
}
