// GDPR (Regulation (EU) 2016/679) articles an API sidecar can help
// satisfy. Text quoted briefly from the Regulation. Pure.
import type { ControlDefinition } from './types.ts';
import { encryptedBothWays } from './checks.ts';
import { audit, authentication, transport } from './facts.ts';

export const GDPR_CONTROLS: readonly ControlDefinition[] = [
  {
    // Art. 32(1)(a): "the pseudonymisation and encryption of personal data".
    // In transit, both ways: with egress default Allow, undeclared calls leave
    // without mTLS.
    id: 'Art. 32(1)(a)',
    profile: 'GDPR',
    title: 'Encryption of personal data in transit',
    requiresEnforcement: true,
    check: ({ config }) =>
      encryptedBothWays(config, 'personal data may leave to undeclared destinations without mTLS'),
  },
  {
    // Art. 32(1)(b): "the ability to ensure the ongoing confidentiality,
    // integrity, availability and resilience of processing systems and services".
    id: 'Art. 32(1)(b)',
    profile: 'GDPR',
    title: 'Ongoing confidentiality, integrity, availability and resilience',
    requiresEnforcement: true,
    check: ({ config }) => {
      const auth = authentication(config);
      const t = transport(config);
      const rate = config.limits.rateLimit;
      const problems = [
        auth.covered ? '' : `confidentiality: ${auth.description}`,
        t.weak.length === 0 ? '' : `integrity: ${t.description}`,
        rate ? '' : 'availability: no rate limit (spec.limits.rateLimit)',
      ].filter(Boolean);
      return problems.length === 0
        ? {
            pass: true,
            message: `confidentiality: ${auth.description}; integrity: AEAD suites only; availability: rate limited to ${rate?.requestsPerSecond ?? 0}/s per caller`,
          }
        : { pass: false, message: problems.join('; ') };
    },
  },
  {
    // Art. 5(1)(c): personal data shall be "adequate, relevant and limited to
    // what is necessary in relation to the purposes for which they are
    // processed ('data minimisation')". Audit records copy only the headers
    // named in spec.audit.includeHeaders; credentials and personal data in
    // headers are not needed for security logging.
    id: 'Art. 5(1)(c)',
    profile: 'GDPR',
    title: 'Data minimisation: audit records carry no credentials or personal data headers',
    requiresEnforcement: false,
    check: ({ config }) => {
      const a = audit(config);
      if (a.sensitiveHeaders.length > 0) {
        return {
          pass: false,
          message: `spec.audit.includeHeaders logs headers that carry credentials or personal data: ${a.sensitiveHeaders.join(', ')}`,
        };
      }
      return {
        pass: true,
        message: `audit records copy only ${a.headers.length > 0 ? a.headers.join(', ') : 'no request headers'}; Authorization and cookies are never logged`,
      };
    },
  },
];
