// The CEL environment of the Kubernetes apiserver, as far as CRD
// validation rules need it: the standard CEL library with its macros
// (has, all, exists, exists_one, map, filter) and duration(), from
// @marcbachmann/cel-js, plus the Kubernetes extension functions the
// apiserver adds: isQuantity/quantity and the Quantity methods, and isURL.
// Values handed to CEL are converted the way the apiserver types them
// (JSON integers are CEL ints). Pure; build one environment and reuse it.
import { Environment } from '@marcbachmann/cel-js';
import {
  compareQuantities,
  parseQuantity,
  quantityAsInteger,
  quantityIsInteger,
  quantityToNumber,
  type Quantity,
} from '../quantity.ts';

/** A CEL value of the Kubernetes `Quantity` type. */
export class CelQuantity {
  readonly value: Quantity;
  constructor(value: Quantity) {
    this.value = value;
  }
}

function toQuantity(text: string): CelQuantity {
  const q = parseQuantity(text);
  if (!q) throw new Error(`quantity(): "${text}" is not a valid quantity`);
  return new CelQuantity(q);
}

const bigSign = (n: number): bigint => BigInt(n);

/**
 * `isURL` as the apiserver defines it: Go's url.ParseRequestURI accepts an
 * absolute URL or an absolute path.
 */
export function isUrl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return false;
  }
  if (text.startsWith('/')) return true;
  return URL.canParse(text) && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(text);
}

/** A CEL environment with the Kubernetes extension functions CRD rules use. `self` is dynamic. */
export function kubernetesCelEnvironment(): Environment {
  return new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false })
    .registerType('Quantity', CelQuantity)
    .registerFunction('isQuantity(string): bool', (s: string) => parseQuantity(s) !== null)
    .registerFunction('quantity(string): Quantity', toQuantity)
    .registerFunction('Quantity.isInteger(): bool', (q: CelQuantity) => quantityIsInteger(q.value))
    .registerFunction('Quantity.asInteger(): int', (q: CelQuantity) => quantityAsInteger(q.value))
    .registerFunction('Quantity.asApproximateFloat(): double', (q: CelQuantity) => quantityToNumber(q.value))
    .registerFunction('Quantity.sign(): int', (q: CelQuantity) =>
      bigSign(q.value.num > 0n ? 1 : q.value.num < 0n ? -1 : 0),
    )
    .registerFunction('Quantity.compareTo(Quantity): int', (a: CelQuantity, b: CelQuantity) =>
      bigSign(compareQuantities(a.value, b.value)),
    )
    .registerFunction(
      'Quantity.isGreaterThan(Quantity): bool',
      (a: CelQuantity, b: CelQuantity) => compareQuantities(a.value, b.value) > 0,
    )
    .registerFunction(
      'Quantity.isLessThan(Quantity): bool',
      (a: CelQuantity, b: CelQuantity) => compareQuantities(a.value, b.value) < 0,
    )
    .registerFunction('isURL(string): bool', isUrl);
}

/**
 * Converts a JSON value to the CEL value the apiserver would see: integers
 * become CEL ints (bigint), null fields are absent, the rest is unchanged.
 */
export function toCelValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = toCelValue(v);
    return out;
  }
  return value;
}
