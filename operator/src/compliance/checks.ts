// Checks that controls of several profiles share word for word (the
// profiles cite different requirement text for the same evidence). Pure.
import type { SidecarConfig } from '@acp/crds';
import { access, authentication, transport } from './facts.ts';
import type { Finding } from './types.ts';

/** Every non-public path requires an authenticated caller. */
export function authenticatedCallers(config: SidecarConfig): Finding {
  const a = authentication(config);
  return { pass: a.covered, message: a.description };
}

/** Callers are authenticated and only those granted access (named peers, audience-bound tokens) get in. */
export function grantedAccess(config: SidecarConfig): Finding {
  const auth = authentication(config);
  const a = access(config);
  if (!auth.covered) return { pass: false, message: auth.description };
  return a.granted
    ? { pass: true, message: `${auth.description}; ${a.grantDescription}` }
    : { pass: false, message: a.grantDescription };
}

/** TLS 1.2+ with AEAD ECDHE suites inbound, and outbound only to declared destinations. */
export function encryptedBothWays(config: SidecarConfig, whenEgressAllowed: string): Finding {
  const t = transport(config);
  if (!t.strong) return { pass: false, message: t.description };
  return config.egress.default === 'Deny'
    ? {
        pass: true,
        message: `${t.description}; outbound only to declared destinations (egress default Deny, ${config.egress.allow.length} in spec.egress.allow)`,
      }
    : { pass: false, message: `egress default is Allow: ${whenEgressAllowed}` };
}

/** The sidecar writes an audit record per request. */
export function auditEnabled(config: SidecarConfig, evidence: string): Finding {
  return config.audit.enabled
    ? { pass: true, message: evidence }
    : { pass: false, message: 'spec.audit.enabled is false: no audit records are written' };
}
