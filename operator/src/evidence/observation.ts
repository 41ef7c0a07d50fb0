// What the prober measured on one selected pod, as plain data (the input of
// the pure evidence evaluation, and what status.verification keeps per
// workload): whether the pod runs the injected sidecar, what its admin port
// reports (config hash, version), which TLS versions and suites its inbound
// port accepted and refused, whether a handshake without a client
// certificate was served, the certificate it served and the HSTS header on
// its answer. A probe that could not measure (network, timeout) carries a
// failure instead: that is Unknown evidence, never a pass or a fail. Pure
// types and the probe's stable failure codes.

/** TLS protocol versions as Node names them, oldest first. */
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type ProbeTlsVersion = (typeof TLS_VERSIONS)[number];

/** Why a probe could not measure a workload (evidence Unknown). */
export const PROBE_FAILURE_CODES = [
  'ACP_ERR_PROBE_NO_ADDRESS',
  'ACP_ERR_PROBE_UNREACHABLE',
  'ACP_ERR_PROBE_TIMEOUT',
  'ACP_ERR_PROBE_ADMIN',
  'ACP_ERR_PROBE_NO_IDENTITY',
  /** The prober's TLS library could not offer what it meant to try. */
  'ACP_ERR_PROBE_CLIENT',
  /** The connection closed without a TLS alert: not proof of a refusal, so not counted as one. */
  'ACP_ERR_PROBE_INCONCLUSIVE',
] as const;
export type ProbeFailureCode = (typeof PROBE_FAILURE_CODES)[number];

export interface ProbeFailure {
  code: ProbeFailureCode;
  message: string;
}

export interface SuiteResult {
  /** OpenSSL name of the suite offered alone. */
  name: string;
  version: 'TLSv1.2' | 'TLSv1.3';
  accepted: boolean;
}

export interface ServedCertificate {
  /** The single URI SAN, or '' when there is none. */
  spiffeId: string;
  notAfter: string;
  /** The chain verified against the mesh trust bundle. */
  trusted: boolean;
  /** sha256 fingerprint (as Node prints it). */
  fingerprint: string;
}

export interface TlsMeasurement {
  /** Each version offered alone: accepted (handshake completed) or refused. */
  versions: Record<ProbeTlsVersion, boolean>;
  /** Each suite offered alone: the compiled ones and the forbidden ones tried. */
  suites: SuiteResult[];
  /** A handshake without a client certificate completed and a request was answered. */
  anonymousServed: boolean;
  certificate: ServedCertificate;
  /** Strict-Transport-Security on the sidecar's answer to the probe (null: absent). */
  hsts: string | null;
  /** The HTTP status the sidecar answered the probe's request with (403: refused the probe identity). */
  probeStatus: number;
}

export interface SidecarReport {
  configHash: string;
  version: string;
}

export interface WorkloadObservation {
  pod: string;
  namespace: string;
  serviceAccount: string;
  /** When the probe finished (RFC 3339). */
  at: string;
  /** The pod runs the sidecar the webhook injected. */
  injected: boolean;
  /** Set when the probe could not measure: the evidence is Unknown. */
  failure?: ProbeFailure;
  sidecar?: SidecarReport;
  tls?: TlsMeasurement;
}
