// NIST SP 800-52 Rev. 2, Guidelines for the Selection, Configuration, and
// Use of TLS Implementations: the server-side guidelines an API sidecar's
// listener must meet. Text quoted briefly from SP 800-52r2. Pure.
import { parseDurationMs } from '@acp/crds';
import type { ControlDefinition } from './types.ts';
import { transport } from './facts.ts';

/** Certificate lifetime bound: ours (the CRD maximum), not a number from SP 800-52r2. */
const MAX_LIFETIME_MS = 2160 * 3_600_000;
const APPROVED_KEYS = new Set(['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096']);

export const NIST_800_52R2_CONTROLS: readonly ControlDefinition[] = [
  {
    // 3.1: "Servers that support government-only applications shall be
    // configured to use TLS 1.2 and should be configured to use TLS 1.3 as well.
    // These servers should not be configured to use TLS 1.1 and shall not use
    // TLS 1.0, SSL 3.0, or SSL 2.0."
    id: '3.1',
    profile: 'NIST-800-52r2',
    title: 'TLS 1.2 minimum with TLS 1.3 supported; nothing older',
    requiresEnforcement: false,
    check: ({ config }) => {
      const v = config.tls.minVersion;
      const tls13 = config.tls.tls13CipherSuites.length > 0;
      if ((v === 'TLSv1.2' || v === 'TLSv1.3') && tls13) {
        return {
          pass: true,
          message: `${v === 'TLSv1.3' ? 'TLS 1.3 only' : 'TLS 1.2 and TLS 1.3'}; TLS 1.1, 1.0 and SSL are refused`,
        };
      }
      return {
        pass: false,
        message: tls13 ? `minVersion ${v} allows versions older than TLS 1.2` : 'TLS 1.3 has no cipher suite',
      };
    },
  },
  {
    // 3.3.1: "The server shall be configured to only use cipher suites that are
    // composed entirely of NIST approved algorithms"; the lists there are AES-GCM
    // (and AES-CCM) suites with ephemeral (EC)DHE. ChaCha20-Poly1305 is not on them.
    id: '3.3.1',
    profile: 'NIST-800-52r2',
    title: 'Only NIST-approved cipher suites (AES-GCM with ECDHE)',
    requiresEnforcement: false,
    check: ({ config }) => {
      const t = transport(config);
      const bad = [...new Set([...t.weak, ...t.chacha])];
      return bad.length === 0
        ? { pass: true, message: `AES-GCM with ephemeral ECDHE only: ${t.suites.join(', ')}` }
        : {
            pass: false,
            message: `not NIST-approved: ${bad.join(', ')} (ChaCha20-Poly1305 is not on the SP 800-52r2 lists)`,
          };
    },
  },
  {
    // 3.2: server keys and certificates. Table 4.1 (EC keys): "The curve should
    // be P-256 or P-384"; RSA keys of at least 2048 bits. Lifetime: short-lived
    // workload certificates (at most 90 days; our bound).
    id: '3.2',
    profile: 'NIST-800-52r2',
    title: 'Certificates use approved key types and sizes and are short-lived',
    requiresEnforcement: false,
    check: ({ policy }) => {
      const { keyAlgorithm: key, lifetime } = policy.spec.certificates ?? {};
      if (key === undefined || lifetime === undefined) {
        return {
          pass: false,
          message: 'spec.certificates has no keyAlgorithm or lifetime (schema defaults not applied)',
        };
      }
      const problems = [
        APPROVED_KEYS.has(key) ? '' : `key algorithm ${key} is not RSA >= 2048 bits or ECDSA P-256/P-384`,
        parseDurationMs(lifetime) <= MAX_LIFETIME_MS
          ? ''
          : `lifetime ${lifetime} is longer than 90 days (2160h)`,
      ].filter(Boolean);
      return problems.length === 0
        ? { pass: true, message: `${key} workload certificates valid for ${lifetime}` }
        : { pass: false, message: problems.join('; ') };
    },
  },
];
