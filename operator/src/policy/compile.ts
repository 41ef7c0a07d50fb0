// Compiles an ApiCompliancePolicy into the configuration one sidecar
// enforces (crds/schemas/sidecar-config.v1.yaml): deterministic, every
// default resolved, peers as SPIFFE IDs in the mesh's trust domain, sizes
// in bytes, times in milliseconds, cipher suites as OpenSSL names split by
// TLS version, the exact HSTS header, JWT keys embedded. A policy that the
// schema refuses or that cannot be enforced (the shared checks of
// @acp/crds, which the webhook and the CLI run too) throws
// ACP_ERR_INVALID_SPEC naming the fields (Ready=False, reason
// InvalidSpec); the output is validated against the sidecar-config schema
// before it is returned. The configuration carries no timestamps, so its
// hash (hash.ts) changes only when what the sidecar enforces does. Pure
// (asynchronous: JWT keys are parsed by jose).
import {
  AcpError,
  checkPolicySpec,
  DEFAULT_JWKS_LIMITS,
  formatFieldErrors,
  PORTS,
  quantityToBytes,
  SIDECAR_CONFIG_API_VERSION,
  validateSidecarConfig,
  type ApiCompliancePolicy,
  type JwksLimits,
  type PolicySpec,
  type SidecarConfig,
} from '@acp/crds';
import { compileJwt, type JwksInput } from './compile-jwt.ts';
import { invalidSpec, POLICY_ERRORS } from './errors.ts';
import { peerSpiffeIds } from './peers.ts';
import { required } from './required.ts';
import { cipherSuite, hstsHeader, nodeTlsVersion } from './tls.ts';

export interface CompileOptions {
  /** The mesh directory entries this policy's sidecar may reach (mesh/directory.ts directoryFor); none: no `mesh`. */
  mesh?: NonNullable<SidecarConfig['mesh']>['services'];
  /** The SPIFFE trust domain of the mesh (operator flag --trust-domain, default cluster.local). */
  trustDomain: string;
  /** Keys of each jwksUri provider, by provider name (fetched by the operator, or `acp compile --jwks`). */
  jwks?: Readonly<Record<string, JwksInput>>;
  /**
   * A jwksUri provider without keys: 'error' (default) throws ACP_ERR_JWKS_MISSING; 'empty' embeds no
   * keys, so every token from that provider is refused (fail closed) until keys arrive.
   */
  missingJwks?: 'error' | 'empty';
  jwksLimits?: JwksLimits;
  /** SPIFFE IDs of the operator's compliance prober (mtls.probePeers: refused by every sidecar). */
  probePeers?: readonly string[];
}

/** The namespace a policy without metadata.namespace is compiled for (as kubectl would apply it). */
export const DEFAULT_POLICY_NAMESPACE = 'default';

type Tls = SidecarConfig['tls'];

function compileTls(spec: PolicySpec): Tls {
  const tls = required(spec.tls, 'spec.tls');
  const minVersion = nodeTlsVersion(required(tls.minVersion, 'spec.tls.minVersion'));
  const tls13: Tls['tls13CipherSuites'] = [];
  const tls12: Tls['tls12CipherSuites'] = [];
  for (const name of required(tls.cipherSuites, 'spec.tls.cipherSuites')) {
    const s = cipherSuite(name);
    if (!s) continue; // the schema's enum admits only known suites
    if (s.version === 'TLSv1.3') tls13.push(s.openssl as Tls['tls13CipherSuites'][number]);
    else if (minVersion === 'TLSv1.2') tls12.push(s.openssl as Tls['tls12CipherSuites'][number]);
  }
  const hsts = required(tls.hsts, 'spec.tls.hsts');
  return {
    minVersion,
    tls13CipherSuites: [...new Set(tls13)],
    tls12CipherSuites: [...new Set(tls12)],
    hsts: {
      header: hstsHeader({
        maxAgeSeconds: required(hsts.maxAgeSeconds, 'spec.tls.hsts.maxAgeSeconds'),
        includeSubDomains: required(hsts.includeSubDomains, 'spec.tls.hsts.includeSubDomains'),
        preload: required(hsts.preload, 'spec.tls.hsts.preload'),
      }),
    },
  };
}

function compileLimits(spec: PolicySpec): SidecarConfig['limits'] {
  const l = required(spec.limits, 'spec.limits');
  const rate = l.rateLimit;
  return {
    maxRequestBytes: quantityToBytes(required(l.maxRequestBytes, 'spec.limits.maxRequestBytes')),
    maxHeaderBytes: quantityToBytes(required(l.maxHeaderBytes, 'spec.limits.maxHeaderBytes')),
    maxUrlBytes: quantityToBytes(required(l.maxUrlBytes, 'spec.limits.maxUrlBytes')),
    requestTimeoutMs: required(l.requestTimeoutSeconds, 'spec.limits.requestTimeoutSeconds') * 1000,
    headersTimeoutMs: required(l.headersTimeoutSeconds, 'spec.limits.headersTimeoutSeconds') * 1000,
    maxConnections: required(l.maxConnections, 'spec.limits.maxConnections'),
    maxPendingHandshakesPerAddress: required(
      l.maxPendingHandshakesPerAddress,
      'spec.limits.maxPendingHandshakesPerAddress',
    ),
    rateLimit: rate
      ? {
          requestsPerSecond: rate.requestsPerSecond,
          burst: rate.burst ?? rate.requestsPerSecond,
          by: required(rate.by, 'spec.limits.rateLimit.by'),
        }
      : null,
  };
}

function compileMtls(
  spec: PolicySpec,
  trustDomain: string,
  probePeers: readonly string[] = [],
): SidecarConfig['mtls'] {
  const mtls = required(spec.mtls, 'spec.mtls');
  return {
    mode: required(mtls.mode, 'spec.mtls.mode'),
    allowedPeers: peerSpiffeIds(mtls.allowedPeers, trustDomain),
    ...(probePeers.length > 0 ? { probePeers: [...probePeers] } : {}),
  };
}

function policyRef(policy: ApiCompliancePolicy): SidecarConfig['policy'] {
  const meta = policy.metadata ?? {};
  const ref: SidecarConfig['policy'] = {
    namespace: meta.namespace ?? DEFAULT_POLICY_NAMESPACE,
    name: meta.name ?? '',
    generation: meta.generation ?? 0,
  };
  if (meta.uid !== undefined) ref.uid = meta.uid;
  return ref;
}

async function build(policy: ApiCompliancePolicy, o: CompileOptions): Promise<SidecarConfig> {
  const spec = policy.spec;
  const td = o.trustDomain;
  return {
    apiVersion: SIDECAR_CONFIG_API_VERSION,
    kind: 'SidecarConfig',
    policy: policyRef(policy),
    mode: required(spec.mode, 'spec.mode'),
    trustDomain: td,
    listeners: { inboundPort: PORTS.inbound, adminPort: PORTS.admin, outboundPort: PORTS.outbound },
    upstream: {
      host: '127.0.0.1',
      port: spec.upstream.port,
      connectTimeoutMs:
        required(spec.upstream.connectTimeoutSeconds, 'spec.upstream.connectTimeoutSeconds') * 1000,
      protocol: spec.upstream.protocol === 'H2C' ? 'h2c' : 'http1',
    },
    tls: compileTls(spec),
    mtls: compileMtls(spec, td, o.probePeers),
    jwt: await compileJwt(spec.jwt, {
      jwks: o.jwks ?? {},
      missingJwks: o.missingJwks ?? 'error',
      jwksLimits: o.jwksLimits ?? DEFAULT_JWKS_LIMITS,
    }),
    limits: compileLimits(spec),
    http: {
      allowMatrixParameters: spec.http?.allowMatrixParameters ?? false,
      http2: spec.http?.http2 ?? true,
    },
    egress: {
      default: required(spec.egress?.default, 'spec.egress.default'),
      // Service entries ({service, namespace}) reach the sidecar through the mesh directory instead.
      allow: (spec.egress?.allow ?? []).flatMap((a) =>
        a.host !== undefined && a.port !== undefined
          ? [{ host: a.host, port: a.port, peers: peerSpiffeIds(a.peers, td) }]
          : [],
      ),
    },
    ...(o.mesh && o.mesh.length > 0 ? { mesh: { services: o.mesh } } : {}),
    audit: {
      enabled: required(spec.audit?.enabled, 'spec.audit.enabled'),
      includeHeaders: [
        ...new Set(
          required(spec.audit?.includeHeaders, 'spec.audit.includeHeaders').map((h) => h.toLowerCase()),
        ),
      ],
    },
  };
}

/**
 * Compiles a policy into its sidecar configuration. Throws AcpError:
 * ACP_ERR_INVALID_SPEC (details.errors names the fields), ACP_ERR_JWKS_*
 * (keys of a jwksUri provider missing or unusable; details.provider), or
 * ACP_ERR_CONFIG_SCHEMA (the output does not validate: a compiler bug).
 */
export async function compileSidecarConfig(
  policy: ApiCompliancePolicy,
  options: CompileOptions,
): Promise<SidecarConfig> {
  const checked = await checkPolicySpec(policy, options.jwksLimits);
  if (!checked.ok) throw invalidSpec(checked.errors);
  const config = await build(checked.value, options);
  const valid = validateSidecarConfig(config);
  if (!valid.ok) {
    throw new AcpError(
      POLICY_ERRORS.configSchema,
      `the compiled sidecar configuration is invalid: ${formatFieldErrors(valid.errors)}`,
      { errors: valid.errors.map((e) => ({ field: e.field, message: e.message })) },
    );
  }
  return config;
}
