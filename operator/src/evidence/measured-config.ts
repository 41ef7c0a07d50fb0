// The configuration a sidecar was measured to enforce: the compiled one,
// with what the probe observed in place of what it was told: the oldest
// TLS version accepted as the floor, the suites accepted (compiled and
// forbidden ones alike), Permissive mTLS when a handshake without a client
// certificate was served, and the HSTS header seen. The rest of the config
// is the compiled one, proven in force by the config hash the sidecar
// reports (integrity.ts). The compliance controls then judge this config
// exactly as they judge the compiled one: one definition of each control.
// Pure.
import type { SidecarConfig } from '@acp/crds';
import { TLS_VERSIONS, type TlsMeasurement } from './observation.ts';

type Tls = SidecarConfig['tls'];

export function measuredConfig(compiled: SidecarConfig, m: TlsMeasurement): SidecarConfig {
  const floor = TLS_VERSIONS.find((v) => m.versions[v]) ?? compiled.tls.minVersion;
  const accepted = (version: 'TLSv1.2' | 'TLSv1.3'): string[] =>
    m.versions[version] ? m.suites.filter((s) => s.version === version && s.accepted).map((s) => s.name) : [];
  return {
    ...compiled,
    tls: {
      ...compiled.tls,
      // The measured floor may be older than the schema allows: that is the point.
      minVersion: floor as Tls['minVersion'],
      tls13CipherSuites: accepted('TLSv1.3') as Tls['tls13CipherSuites'],
      tls12CipherSuites: accepted('TLSv1.2') as Tls['tls12CipherSuites'],
      hsts: { header: m.hsts ?? '' },
    },
    mtls: { ...compiled.mtls, mode: m.anonymousServed ? 'Permissive' : 'Strict' },
  };
}
