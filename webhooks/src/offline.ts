// The webhook's pure injection core for offline use (`@acp/webhooks/inject`,
// the `acp inject` CLI): decide + mutate for one pod (mutatePod), the
// injection settings and their defaults, and the reduction of a policy
// object to what admission needs. Nothing here imports the server, the
// informers or the kube client. PROXY_ENV: the variables every app container gets.
export { mutatePod, type InjectDeps, type PodMutation } from './admission/inject.ts';
export { SKIP_REASONS, type PolicyRef, type SkipReason } from './inject/decide.ts';
export { DEFAULT_INJECTION_CONFIG, parseInjectionConfig, type InjectionConfig } from './inject/config.ts';
export type { Pod } from './inject/pod.ts';
export { toPolicyRef } from './policy/ref.ts';
export { PROXY_ENV } from './inject/sidecar.ts';
