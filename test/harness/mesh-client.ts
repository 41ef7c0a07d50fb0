// An HTTPS request the way a mesh client makes it: mTLS with a workload
// certificate (dir/tls.crt, dir/tls.key, or dir/<as>.crt/.key), the chain
// verified against the trust bundle (dir/ca.crt), and the server's identity
// checked by its SPIFFE ID (workload certificates carry no DNS or IP names,
// so a host-name check cannot be used on them). Never throws.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

export interface MeshReply {
  status: number;
  body: string;
  error?: string;
}

export interface MeshRequest {
  /** 127.0.0.1 when unset (a sidecar process on loopback); a pod IP on the real node. */
  host?: string;
  port: number;
  path: string;
  dir: string;
  /** Use dir/<as>.crt and dir/<as>.key; dir/tls.crt and dir/tls.key when unset; no certificate when null. */
  as?: string | null;
  /** The SPIFFE ID the server must present. */
  expect: string;
  headers?: Record<string, string>;
}

export function meshRequest(o: MeshRequest): Promise<MeshReply> {
  const creds =
    o.as === null
      ? {}
      : {
          cert: readFileSync(join(o.dir, `${o.as ?? 'tls'}.crt`)),
          key: readFileSync(join(o.dir, `${o.as ?? 'tls'}.key`)),
        };
  return new Promise((resolve) => {
    const req = request(
      {
        host: o.host ?? '127.0.0.1',
        port: o.port,
        path: o.path,
        ca: readFileSync(join(o.dir, 'ca.crt')),
        ...creds,
        headers: o.headers ?? {},
        agent: false,
        checkServerIdentity: (_host, cert) =>
          cert.subjectaltname === `URI:${o.expect}`
            ? undefined
            : new Error(`server is ${cert.subjectaltname ?? 'unnamed'}, not ${o.expect}`),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
    req.end();
  });
}
