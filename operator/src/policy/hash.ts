// The content hash of a compiled sidecar configuration: sha256 over its
// canonical JSON (object keys sorted at every level, no whitespace), so the
// same configuration always has the same hash however it was built, and the
// ConfigMap annotation changes exactly when the content does. Pure.
import { createHash } from 'node:crypto';
import type { SidecarConfig } from '@acp/crds';

/** The annotation on the policy's ConfigMap (and the value in status.config.hash). */
export const CONFIG_HASH_ANNOTATION = 'acp.dev/config-hash';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

/** JSON with object keys sorted at every level; `indent` only changes whitespace. */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(canonical(value), null, indent);
}

/** True when a and b are the same JSON, whatever the key order (what we would write vs what is stored). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** sha256 (hex) of the canonical JSON of a configuration. */
export function configHash(config: SidecarConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

/** What the operator writes: `sidecar.json` (canonical, indented for people) and its hash. */
export function renderSidecarConfig(config: SidecarConfig): { json: string; hash: string } {
  return { json: `${canonicalJson(config, 2)}\n`, hash: configHash(config) };
}
