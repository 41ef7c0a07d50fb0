// PCI DSS v4.0 controls an API sidecar can satisfy. Requirement text is
// quoted briefly from the PCI DSS v4.0 Requirements and Testing Procedures.
// Decision (8.3.1): a caller is authenticated when Strict mTLS requires
// its workload certificate (the standard's note: "A digital certificate is
// a valid option for 'something you have' if it is unique for a particular
// user"; ours are unique per service account) or when a valid JWT is
// required on every path not explicitly public. Pure.
import type { ControlDefinition } from './types.ts';
import { auditEnabled, authenticatedCallers } from './checks.ts';
import { access, audit, authentication, transport } from './facts.ts';

export const PCI_DSS_CONTROLS: readonly ControlDefinition[] = [
  {
    // 4.2.1: "Strong cryptography and security protocols are implemented ... to
    // safeguard PAN during transmission over open, public networks", including
    // "The protocol in use supports only secure versions or configurations and
    // does not support fallback to, or use of insecure versions, algorithms, key
    // sizes, or implementations."
    id: '4.2.1',
    profile: 'PCI-DSS-4.0',
    title: 'Strong cryptography and security protocols safeguard data in transit',
    requiresEnforcement: false,
    check: ({ config }) => {
      const t = transport(config);
      return { pass: t.strong, message: t.description };
    },
  },
  {
    // 7.2.1: "An access control model is defined and includes granting access ...
    // The least privileges required (for example, user, administrator) to perform
    // a job function."
    id: '7.2.1',
    profile: 'PCI-DSS-4.0',
    title: 'Access is limited to the least privileges callers need',
    requiresEnforcement: true,
    check: ({ config }) => {
      const a = access(config);
      return { pass: a.leastPrivilege, message: a.privilegeDescription };
    },
  },
  {
    // 8.3.1: "All user access to system components for users and administrators
    // is authenticated via at least one of the following authentication factors".
    id: '8.3.1',
    profile: 'PCI-DSS-4.0',
    title: 'Every non-public path requires an authenticated caller',
    requiresEnforcement: true,
    check: ({ config }) => authenticatedCallers(config),
  },
  {
    // 10.2.1: "Audit logs are enabled and active for all system components and
    // cardholder data."
    id: '10.2.1',
    profile: 'PCI-DSS-4.0',
    title: 'Audit logs are enabled and active',
    requiresEnforcement: false,
    check: ({ config }) =>
      auditEnabled(config, 'the sidecar writes an audit record for every request and decision'),
  },
  {
    // 10.2.2: "Audit logs record the following details for each auditable event:
    // User identification. Type of event. Date and time. Success and failure
    // indication. Origination of event. Identity or name of affected data, system
    // component, resource, or service". The sidecar's record always has time,
    // method, canonical path, status and decision; the user is the verified peer
    // identity or JWT subject; the origin needs x-forwarded-for.
    id: '10.2.2',
    profile: 'PCI-DSS-4.0',
    title: 'Audit records carry user, event, time, outcome, origin and resource',
    requiresEnforcement: false,
    check: ({ config }) => {
      const a = audit(config);
      const auth = authentication(config);
      const missing = [
        a.enabled ? '' : 'audit records are disabled',
        auth.covered ? '' : 'no user identification (callers are not authenticated)',
        a.origin ? '' : 'no origin (x-forwarded-for is not in spec.audit.includeHeaders)',
      ].filter(Boolean);
      return missing.length === 0
        ? {
            pass: true,
            message: `each record has the ${auth.identifies} identity, method, time, status and decision, client address (x-forwarded-for) and canonical path`,
          }
        : { pass: false, message: missing.join('; ') };
    },
  },
];
