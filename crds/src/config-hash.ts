// The content hash of a sidecar configuration: sha256 over its canonical
// JSON (object keys sorted at every level, no whitespace). The operator
// writes it on the compiled ConfigMap and in status.config.hash; the
// sidecar reports the hash of the config in force on its admin port; the
// prober compares the two. One definition, so they cannot disagree. Pure.
import { createHash } from 'node:crypto';

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

/** sha256 (hex) of the canonical JSON of a configuration. */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}
