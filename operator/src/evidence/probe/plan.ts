// Which TLS versions and cipher suites the prober offers a sidecar, each
// alone: every version from TLS 1.0 to 1.3 (the forbidden ones must be
// refused), every suite the config lists (must be accepted) and the
// suites it does not list (must be refused): the other AEAD suites the
// API knows, plus representative forbidden ones (AES-128, CBC, static RSA
// key exchange). Pure.
import type { SidecarConfig } from '@acp/crds';
import { CIPHER_SUITES } from '../../policy/tls.ts';

export interface SuiteProbe {
  name: string;
  version: 'TLSv1.2' | 'TLSv1.3';
}

/** Suites no policy may allow, that an unhardened TLS server commonly accepts. */
export const FORBIDDEN_SUITES: readonly SuiteProbe[] = [
  { name: 'TLS_AES_128_GCM_SHA256', version: 'TLSv1.3' },
  { name: 'ECDHE-ECDSA-AES128-GCM-SHA256', version: 'TLSv1.2' },
  { name: 'ECDHE-RSA-AES128-GCM-SHA256', version: 'TLSv1.2' },
  { name: 'ECDHE-ECDSA-AES128-SHA', version: 'TLSv1.2' },
  { name: 'ECDHE-RSA-AES256-SHA', version: 'TLSv1.2' },
  { name: 'AES256-GCM-SHA384', version: 'TLSv1.2' },
  { name: 'AES128-SHA', version: 'TLSv1.2' },
];

export function suitesToProbe(config: SidecarConfig): SuiteProbe[] {
  const listed: SuiteProbe[] = [
    ...config.tls.tls13CipherSuites.map((name) => ({ name, version: 'TLSv1.3' as const })),
    ...config.tls.tls12CipherSuites.map((name) => ({ name, version: 'TLSv1.2' as const })),
  ];
  const names = new Set(listed.map((s) => s.name));
  const unlisted = CIPHER_SUITES.filter((s) => !names.has(s.openssl)).map((s) => ({
    name: s.openssl,
    version: s.version,
  }));
  return [...listed, ...unlisted, ...FORBIDDEN_SUITES];
}
