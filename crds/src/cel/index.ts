// Offline evaluation of the CRD's x-kubernetes-validations (CEL) rules.
export { compileCrdRules, type CrdRule, type CrdRuleValidator } from './rules.ts';
export { kubernetesCelEnvironment, toCelValue, isUrl, CelQuantity } from './library.ts';
export { validatePolicyWithRules, RULES_NOT_CHECKED } from './policy.ts';
