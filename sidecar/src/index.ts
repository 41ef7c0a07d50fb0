// The sidecar package: start one sidecar in-process (tests, embedding) and
// the pure pieces other packages may reuse.
export { startSidecar, type Sidecar, type SidecarOptions } from './runtime.ts';
export { parseConfig, compilePolicy, type Policy } from './config/policy.ts';
export { CODE_STATUS, statusForCode, TLS_CODES } from './codes.ts';
export { METRIC_NAMES } from './metrics.ts';
