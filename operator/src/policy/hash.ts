// The content hash of a compiled sidecar configuration (defined once in
// @acp/crds config-hash.ts, which the sidecar uses too): the same
// configuration always has the same hash however it was built, and the
// ConfigMap annotation changes exactly when the content does. Pure.
import { canonicalJson, configHash, type SidecarConfig } from '@acp/crds';

export { canonicalJson, configHash };

/** The annotation on the policy's ConfigMap (and the value in status.config.hash). */
export const CONFIG_HASH_ANNOTATION = 'acp.dev/config-hash';

/** True when a and b are the same JSON, whatever the key order (what we would write vs what is stored). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** What the operator writes: `sidecar.json` (canonical, indented for people) and its hash. */
export function renderSidecarConfig(config: SidecarConfig): { json: string; hash: string } {
  return { json: `${canonicalJson(config, 2)}\n`, hash: configHash(config) };
}
