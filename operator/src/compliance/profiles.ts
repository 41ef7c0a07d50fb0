// The controls of each compliance profile, in the order reports list them.
import type { ComplianceProfile } from '@acp/crds';
import { GDPR_CONTROLS } from './gdpr.ts';
import { HIPAA_CONTROLS } from './hipaa.ts';
import { NIST_800_52R2_CONTROLS } from './nist-800-52r2.ts';
import { PCI_DSS_CONTROLS } from './pci-dss.ts';
import { SOC2_CONTROLS } from './soc2.ts';
import type { ControlDefinition } from './types.ts';

export const PROFILE_CONTROLS: Readonly<Record<ComplianceProfile, readonly ControlDefinition[]>> = {
  'PCI-DSS-4.0': PCI_DSS_CONTROLS,
  HIPAA: HIPAA_CONTROLS,
  SOC2: SOC2_CONTROLS,
  GDPR: GDPR_CONTROLS,
  'NIST-800-52r2': NIST_800_52R2_CONTROLS,
};
