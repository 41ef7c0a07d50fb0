// The benchmark's servers, all with the same policy: mTLS required (client
// certificate verified against the test CA), TLS 1.2 + 1.3, AEAD suites
// only (AES-256-GCM, CHACHA20-POLY1305), groups X25519/P-256/P-384, HSTS
// added, keep-alive to one small upstream (an nginx `return 200`), one
// worker. Each function returns the config text for its server.
import type { SidecarConfig } from '@acp/crds';
import { DEFAULT_INJECTION_CONFIG } from '../../../webhooks/src/inject/config.ts';

/** The client certificate's SPIFFE ID (the policy's one allowed peer). */
export const CLIENT_ID = 'spiffe://cluster.local/ns/bench/sa/client';

/** The node flags of the injected sidecar's command (webhooks' default injection config). */
export const SHIPPED_NODE_FLAGS = DEFAULT_INJECTION_CONFIG.command.filter((a) => a.startsWith('--'));

/** The sidecar's own flags after its entry script: config file, identity directory, loopback host. */
export function sidecarArgs(configPath: string, identityDir: string): string[] {
  return ['--config', configPath, '--identity-dir', identityDir, '--host', '127.0.0.1'];
}

export const PORTS = {
  upstream: 18080,
  nginx: 18443,
  haproxy: 18444,
  sidecar: 18445,
  admin: 18446,
  outbound: 18447,
};
const HSTS = 'max-age=31536000; includeSubDomains';
const TLS12 = 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305';
const TLS13 = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

export function upstreamNginx(dir: string): string {
  return `worker_processes 1; daemon off; pid ${dir}/up.pid; error_log ${dir}/up-error.log;
events { worker_connections 8192; }
http { access_log off;
  client_body_temp_path ${dir}/up-tmp; proxy_temp_path ${dir}/up-tmp; fastcgi_temp_path ${dir}/up-tmp; uwsgi_temp_path ${dir}/up-tmp; scgi_temp_path ${dir}/up-tmp;
  server { listen 127.0.0.1:${PORTS.upstream}; keepalive_requests 10000000; keepalive_timeout 60s;
    location / { default_type text/plain; return 200 "hello world\\n"; } } }
`;
}

export function proxyNginx(dir: string): string {
  return `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
events { worker_connections 8192; }
http {
  access_log ${dir}/nginx-access.log combined buffer=64k flush=1s;
  client_body_temp_path ${dir}/nx-tmp; proxy_temp_path ${dir}/nx-tmp; fastcgi_temp_path ${dir}/nx-tmp; uwsgi_temp_path ${dir}/nx-tmp; scgi_temp_path ${dir}/nx-tmp;
  upstream app { server 127.0.0.1:${PORTS.upstream}; keepalive 128; }
  server {
    listen 127.0.0.1:${PORTS.nginx} ssl;
    ssl_certificate ${dir}/server.crt; ssl_certificate_key ${dir}/server.key;
    ssl_client_certificate ${dir}/ca.crt; ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ${TLS12};
    ssl_conf_command Ciphersuites ${TLS13};
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    ssl_session_cache shared:SSL:10m; ssl_session_tickets on;
    keepalive_requests 10000000; keepalive_timeout 60s;
    add_header Strict-Transport-Security "${HSTS}" always;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`;
}

export function proxyHaproxy(dir: string): string {
  return `global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:${PORTS.haproxy} ssl crt ${dir}/server.pem ca-file ${dir}/ca.crt verify required ssl-min-ver TLSv1.2 ciphers ${TLS12} ciphersuites ${TLS13} curves X25519:P-256:P-384
  http-response set-header Strict-Transport-Security "${HSTS}"
  default_backend be
backend be
  server app 127.0.0.1:${PORTS.upstream}
`;
}

export function sidecarConfig(jwks: { keys: unknown[] } | null, clientId: string): SidecarConfig {
  return {
    apiVersion: 'sidecar.acp.dev/v1',
    kind: 'SidecarConfig',
    policy: { namespace: 'bench', name: 'bench', generation: 1 },
    mode: 'Enforce',
    trustDomain: 'cluster.local',
    listeners: { inboundPort: PORTS.sidecar, adminPort: PORTS.admin, outboundPort: PORTS.outbound },
    upstream: { host: '127.0.0.1', port: PORTS.upstream, connectTimeoutMs: 1000 },
    tls: {
      minVersion: 'TLSv1.2',
      tls13CipherSuites: ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'],
      tls12CipherSuites: ['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
      hsts: { header: HSTS },
    },
    mtls: { mode: 'Strict', allowedPeers: [clientId] },
    jwt: jwks
      ? {
          providers: [
            {
              name: 'bench',
              issuer: 'https://idp.bench/',
              audiences: ['bench'],
              algorithms: ['ES256'],
              clockSkewSeconds: 30,
              maxTokenAgeSeconds: 86400,
              requiredClaims: ['exp', 'iat', 'sub'],
              forwardClaims: [{ claim: 'sub', header: 'x-acp-jwt-sub' }],
              jwks: jwks as never,
            },
          ],
          rules: [],
        }
      : null,
    limits: {
      maxRequestBytes: 2 * 1024 * 1024,
      maxHeaderBytes: 16384,
      maxUrlBytes: 8192,
      requestTimeoutMs: 30000,
      headersTimeoutMs: 10000,
      maxConnections: 512,
      maxPendingHandshakesPerAddress: 64,
      rateLimit: null,
    },
    egress: { default: 'Deny', allow: [] },
    audit: { enabled: true, includeHeaders: ['x-request-id'] },
  };
}
