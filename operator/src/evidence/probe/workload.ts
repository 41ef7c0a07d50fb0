// Probes one injected workload: its admin port's /config (config hash and
// version in force), then its inbound port with the operator's probe
// identity: one handshake that also sends a request (the served
// certificate, the HSTS header on the sidecar's answer, which refuses the
// prober with 403 ACP_ERR_PEER_IS_PROBE so nothing reaches the app), one
// without a client certificate (Strict must refuse it; its request has no
// Host, so a sidecar that serves it answers 400 itself), then each TLS
// version and each suite alone. The tries run one after another, so one
// sidecar sees at most one probe connection at a time. A network failure
// or timeout on the admin port or the first handshake makes the whole
// observation a failure (Unknown). Thin I/O shell; the judging is pure
// (evidence/evaluate.ts).
import type { ConnectionOptions } from 'node:tls';
import type { SidecarConfig } from '@acp/crds';
import { ADMIN_PATHS } from '@acp/crds';
import { parseSubjectAltNameUris } from './san.ts';
import { handshake, type HandshakeOutcome, type HandshakeTarget } from './handshake.ts';
import { suitesToProbe } from './plan.ts';
import {
  TLS_VERSIONS,
  type ProbeFailure,
  type ProbeTlsVersion,
  type SidecarReport,
  type SuiteResult,
  type TlsMeasurement,
  type WorkloadObservation,
} from '../observation.ts';

export interface ProbeIdentity {
  certPem: string;
  keyPem: string;
  /** The mesh trust bundle (every trusted root). */
  caPem: string;
}

export interface WorkloadTarget {
  pod: string;
  namespace: string;
  serviceAccount: string;
  /** The pod IP ('' when it has none yet). */
  host: string;
  inboundPort: number;
  adminPort: number;
  /** The compiled config: which suites to try. */
  config: SidecarConfig;
}

export interface ProbeDeps {
  identity: ProbeIdentity;
  timeoutMs: number;
  now: () => Date;
  fetch: typeof fetch;
  /** Called before each TLS connection (the global rate bound waits here). */
  beforeConnect?: () => Promise<void>;
}

/** The request the prober sends: the sidecar refuses the probe identity itself (403), with HSTS on the answer. */
export const PROBE_REQUEST = (host: string): string =>
  `GET /.well-known/acp-probe HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: acp-prober\r\nConnection: close\r\n\r\n`;

/**
 * The request sent without a client certificate: no Host, so the sidecar's framing layer refuses it
 * (400, in Audit mode too) and it never reaches the app even where such a handshake is served.
 */
export const ANONYMOUS_REQUEST =
  'GET /.well-known/acp-probe HTTP/1.1\r\nUser-Agent: acp-prober\r\nConnection: close\r\n\r\n';

async function adminReport(t: WorkloadTarget, d: ProbeDeps): Promise<SidecarReport | ProbeFailure> {
  try {
    const r = await d.fetch(`http://${t.host}:${t.adminPort}${ADMIN_PATHS.config}`, {
      signal: AbortSignal.timeout(d.timeoutMs),
    });
    if (r.status !== 200)
      return { code: 'ACP_ERR_PROBE_ADMIN', message: `admin ${ADMIN_PATHS.config} answered ${r.status}` };
    const body = (await r.json()) as { configHash?: unknown; version?: unknown };
    const str = (v: unknown): string => (typeof v === 'string' ? v : '');
    return { configHash: str(body.configHash), version: str(body.version) };
  } catch (e) {
    const timeout = e instanceof Error && e.name === 'TimeoutError';
    return {
      code: timeout ? 'ACP_ERR_PROBE_TIMEOUT' : 'ACP_ERR_PROBE_UNREACHABLE',
      message: `admin port ${t.adminPort}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

const isFailure = (x: object): x is ProbeFailure => 'code' in x;

export async function probeWorkload(t: WorkloadTarget, d: ProbeDeps): Promise<WorkloadObservation> {
  const base = { pod: t.pod, namespace: t.namespace, serviceAccount: t.serviceAccount, injected: true };
  const failed = (failure: ProbeFailure): WorkloadObservation => ({
    ...base,
    at: d.now().toISOString(),
    failure,
  });
  if (!t.host) return failed({ code: 'ACP_ERR_PROBE_NO_ADDRESS', message: `pod ${t.pod} has no IP yet` });
  const sidecar = await adminReport(t, d);
  if (isFailure(sidecar)) return failed(sidecar);
  const target: HandshakeTarget = { host: t.host, port: t.inboundPort };
  const id = d.identity;
  const withCert: ConnectionOptions = { cert: id.certPem, key: id.keyPem, ca: id.caPem };
  const once = async (tls: ConnectionOptions, request?: string): Promise<HandshakeOutcome> => {
    await d.beforeConnect?.();
    return handshake(target, { tls, timeoutMs: d.timeoutMs, ...(request ? { request } : {}) });
  };
  const main = await once(withCert, PROBE_REQUEST(t.host));
  if (main.kind === 'failed') return failed({ code: main.code, message: main.message });
  if (main.kind === 'refused' || !main.answer)
    return failed({
      code: 'ACP_ERR_PROBE_UNREACHABLE',
      message: `the sidecar refused the probe identity's handshake or did not answer (${main.kind === 'refused' ? main.reason : 'no answer'})`,
    });
  const anonymous = await once({ ca: id.caPem }, ANONYMOUS_REQUEST);
  if (anonymous.kind === 'failed') return failed({ code: anonymous.code, message: anonymous.message });
  const versions = {} as Record<ProbeTlsVersion, boolean>;
  for (const v of TLS_VERSIONS) {
    const r = await once({ ...withCert, minVersion: v, maxVersion: v, ciphers: 'ALL:@SECLEVEL=0' });
    if (r.kind === 'failed') return failed({ code: r.code, message: r.message });
    versions[v] = r.kind === 'accepted';
  }
  const suites: SuiteResult[] = [];
  for (const s of suitesToProbe(t.config)) {
    const r = await once({
      ...withCert,
      minVersion: s.version,
      maxVersion: s.version,
      // TLS 1.3 names alone (a security level would leave no TLS 1.2 suite to match).
      ciphers: s.version === 'TLSv1.3' ? s.name : `${s.name}:@SECLEVEL=0`,
    });
    if (r.kind === 'failed') return failed({ code: r.code, message: r.message });
    suites.push({ ...s, accepted: r.kind === 'accepted' });
  }
  const cert = main.certificate;
  const tls: TlsMeasurement = {
    versions,
    suites,
    anonymousServed: anonymous.kind === 'accepted',
    certificate: {
      spiffeId: cert
        ? (parseSubjectAltNameUris(cert.subjectAltName).find((u) => u.startsWith('spiffe://')) ?? '')
        : '',
      notAfter: cert ? new Date(cert.validTo).toISOString() : new Date(0).toISOString(),
      trusted: main.authorized,
      fingerprint: cert?.fingerprint256 ?? '',
    },
    hsts: main.answer.headers['strict-transport-security'] ?? null,
    probeStatus: main.answer.status,
  };
  return { ...base, at: d.now().toISOString(), sidecar, tls };
}
