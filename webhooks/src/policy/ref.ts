// Reduces a stored ApiCompliancePolicy object to what admission needs
// (name, creationTimestamp, selector). Objects without a usable selector
// are ignored rather than trusted. Pure.
import type { PolicyRef } from '../inject/decide.ts';
import { toSelector } from './selector.ts';
import { isObject } from '../json.ts';

function timestamp(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  return undefined;
}

export function toPolicyRef(obj: unknown): PolicyRef | undefined {
  if (!isObject(obj) || !isObject(obj['metadata']) || !isObject(obj['spec'])) return undefined;
  const { name, creationTimestamp } = obj['metadata'];
  const selector = toSelector(obj['spec']['selector']);
  if (typeof name !== 'string' || !selector) return undefined;
  return { name, creationTimestamp: timestamp(creationTimestamp), selector };
}
