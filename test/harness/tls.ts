// Makes the control plane's TLS material with the real openssl CLI: a CA,
// the apiserver's serving certificate (127.0.0.1, localhost), an admin
// client certificate (O=system:masters) and the service-account key pair;
// for a real node also the kubelet's, the node components' and the
// apiserver's kubelet-client certificates (makeNodeTls).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function leaf(dir: string, name: string, subject: string, ext: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '30',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

/** Writes ca.{crt,key}, apiserver.{crt,key}, admin.{crt,key}, sa.{key,pub} into dir. */
export function makeControlPlaneTls(dir: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=acp-test-cluster-ca',
      '-days',
      '30',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  leaf(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,IP:198.18.0.1,IP:198.19.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n',
  );
  leaf(
    dir,
    'admin',
    '/O=system:masters/CN=admin',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], dir);
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

const CLIENT = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';

/** The node's certificates, signed by the control plane's CA in dir (run after makeControlPlaneTls). */
export function makeNodeTls(dir: string, nodeName: string, nodeIp: string): void {
  leaf(dir, 'kubelet-client', `/O=system:nodes/CN=system:node:${nodeName}`, CLIENT);
  leaf(
    dir,
    'kubelet-serving',
    `/CN=${nodeName}`,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:${nodeIp}\n`,
  );
  leaf(dir, 'apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', CLIENT);
  leaf(dir, 'controller-manager', '/CN=system:kube-controller-manager', CLIENT);
  leaf(dir, 'scheduler', '/CN=system:kube-scheduler', CLIENT);
  leaf(dir, 'kube-proxy', '/CN=system:kube-proxy', CLIENT);
}
