// HIPAA Security Rule technical safeguards, 45 CFR 164.312, that an API
// sidecar can satisfy. Text quoted briefly from 45 CFR 164.312. Pure.
import type { ControlDefinition } from './types.ts';
import { auditEnabled, authenticatedCallers, encryptedBothWays, grantedAccess } from './checks.ts';
import { transport } from './facts.ts';

export const HIPAA_CONTROLS: readonly ControlDefinition[] = [
  {
    // (a)(1): "allow access only to those persons or software programs that have
    // been granted access rights". Decision: a grant is a named workload identity
    // (allowedPeers), or a token the identity provider issued for this API's
    // audience, required on every non-public path.
    id: '164.312(a)(1)',
    profile: 'HIPAA',
    title: 'Access control: only persons or software programs granted access rights',
    requiresEnforcement: true,
    check: ({ config }) => grantedAccess(config),
  },
  {
    // (b): "Implement hardware, software, and/or procedural mechanisms that
    // record and examine activity in information systems that contain or use
    // electronic protected health information."
    id: '164.312(b)',
    profile: 'HIPAA',
    title: 'Audit controls record activity',
    requiresEnforcement: false,
    check: ({ config }) =>
      auditEnabled(config, 'every request is recorded with identity, path, outcome and time'),
  },
  {
    // (d): "Implement procedures to verify that a person or entity seeking access
    // to electronic protected health information is the one claimed."
    id: '164.312(d)',
    profile: 'HIPAA',
    title: 'Person or entity authentication',
    requiresEnforcement: true,
    check: ({ config }) => authenticatedCallers(config),
  },
  {
    // (e)(1): "Implement technical security measures to guard against
    // unauthorized access to electronic protected health information that is
    // being transmitted over an electronic communications network." Decision:
    // that needs Strict mTLS (no unauthenticated channel) on top of strong TLS.
    id: '164.312(e)(1)',
    profile: 'HIPAA',
    title: 'Transmission security: Strict mTLS with strong TLS',
    requiresEnforcement: true,
    check: ({ config }) => {
      const t = transport(config);
      if (!t.strong) return { pass: false, message: t.description };
      return config.mtls.mode === 'Strict'
        ? { pass: true, message: `Strict mTLS; ${t.description}` }
        : { pass: false, message: 'mTLS is Permissive: callers without a mesh certificate are accepted' };
    },
  },
  {
    // (e)(2)(i): "ensure that electronically transmitted electronic protected
    // health information is not improperly modified without detection".
    id: '164.312(e)(2)(i)',
    profile: 'HIPAA',
    title: 'Integrity controls in transit (AEAD)',
    requiresEnforcement: false,
    check: ({ config }) => {
      const t = transport(config);
      return t.weak.length === 0 && t.suites.length > 0
        ? { pass: true, message: `every suite is AEAD, so modification is detected: ${t.suites.join(', ')}` }
        : { pass: false, message: t.description };
    },
  },
  {
    // (e)(2)(ii): "Implement a mechanism to encrypt electronic protected health
    // information whenever deemed appropriate." Outbound too: with egress
    // default Allow the app's undeclared calls leave without mTLS.
    id: '164.312(e)(2)(ii)',
    profile: 'HIPAA',
    title: 'Encryption in transit, inbound and outbound',
    requiresEnforcement: true,
    check: ({ config }) => encryptedBothWays(config, 'calls to undeclared destinations leave without mTLS'),
  },
];
