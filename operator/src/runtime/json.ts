// Comparing what we would write with what is stored, ignoring key order.
import { canonicalJson } from '../policy/hash.ts';

export { canonicalJson };

export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
