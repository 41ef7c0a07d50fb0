// SOC 2 (AICPA Trust Services Criteria 2017, revised points of focus 2022)
// common criteria an API sidecar can satisfy. Criterion text quoted
// briefly. Pure.
import type { ControlDefinition } from './types.ts';
import { encryptedBothWays, grantedAccess } from './checks.ts';
import { audit, authentication } from './facts.ts';

export const SOC2_CONTROLS: readonly ControlDefinition[] = [
  {
    // CC6.1: "The entity implements logical access security software,
    // infrastructure, and architectures over protected information assets to
    // protect them from security events" (points of focus: identifies and
    // authenticates users; restricts logical access).
    id: 'CC6.1',
    profile: 'SOC2',
    title: 'Logical access security: callers authenticated and access restricted',
    requiresEnforcement: true,
    check: ({ config }) => grantedAccess(config),
  },
  {
    // CC6.6: "The entity implements logical access security measures to protect
    // against threats from sources outside its system boundaries."
    id: 'CC6.6',
    profile: 'SOC2',
    title: 'Protection against threats from outside the system boundary',
    requiresEnforcement: true,
    check: ({ config }) => {
      const auth = authentication(config);
      const rate = config.limits.rateLimit;
      const problems = [
        auth.covered ? '' : auth.description,
        rate ? '' : 'no rate limit (spec.limits.rateLimit): nothing stops a caller flooding the API',
      ].filter(Boolean);
      return problems.length === 0
        ? {
            pass: true,
            message: `${auth.description}; ${rate?.requestsPerSecond ?? 0} requests/s per ${rate?.by ?? ''} (burst ${rate?.burst ?? 0}); bodies over ${config.limits.maxRequestBytes} bytes refused`,
          }
        : { pass: false, message: problems.join('; ') };
    },
  },
  {
    // CC6.7: "The entity restricts the transmission, movement, and removal of
    // information to authorized internal and external users and processes, and
    // protects it during transmission".
    id: 'CC6.7',
    profile: 'SOC2',
    title: 'Transmission restricted to authorized destinations and protected in transit',
    requiresEnforcement: true,
    check: ({ config }) => encryptedBothWays(config, 'the app may send data to any destination'),
  },
  {
    // CC7.2: "The entity monitors system components and the operation of those
    // components for anomalies that are indicative of malicious acts, natural
    // disasters, and errors".
    id: 'CC7.2',
    profile: 'SOC2',
    title: 'System operation is monitored for anomalies',
    requiresEnforcement: false,
    check: ({ config }) => {
      const a = audit(config);
      if (!a.enabled)
        return { pass: false, message: 'spec.audit.enabled is false: decisions are not recorded' };
      return a.requestId
        ? {
            pass: true,
            message:
              'every decision is recorded (with the denial reason) and correlated across hops by x-request-id',
          }
        : {
            pass: false,
            message:
              'x-request-id is not in spec.audit.includeHeaders: records cannot be correlated across hops',
          };
    },
  },
];
