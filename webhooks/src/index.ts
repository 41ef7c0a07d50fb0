// The webhooks package: the pure admission core (decide, mutate, diff,
// review codec, policy checks) and the composition root that runs it.
export { decide, SKIP_REASONS, type Decision, type PolicyRef, type SkipReason } from './inject/decide.ts';
export { injectSidecar, markSkipped } from './inject/mutate.ts';
export { DEFAULT_INJECTION_CONFIG, parseInjectionConfig, type InjectionConfig } from './inject/config.ts';
export { formatStatus, parseStatus, type InjectionStatus } from './inject/status.ts';
export { diff, type PatchOperation } from './admission/jsonpatch.ts';
export { admitPod } from './admission/inject.ts';
export { admitPolicy } from './admission/validate.ts';
export { checkPolicy } from './policy/validate.ts';
export { parseConfig, type WebhookConfig } from './config.ts';
export { startWebhook, type RunningWebhook, type WebhookDeps } from './webhook.ts';
