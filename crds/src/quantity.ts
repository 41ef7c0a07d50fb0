// Kubernetes resource quantities (resource.Quantity) as exact rationals:
// the grammar the apiserver's `isQuantity()`/`quantity()` CEL functions
// accept ("2Mi", "1.5Ki", "1e3", "500m", "0"), and the integer value of a
// quantity. The CRD's CEL rules and the policy compiler both use this, so a
// size the apiserver accepts is the size the sidecar enforces. Pure.
import { AcpError } from './errors.ts';

/** An exact rational value: numerator / denominator, denominator > 0. */
export interface Quantity {
  readonly num: bigint;
  readonly den: bigint;
}

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL_EXPONENT: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

// <signedNumber><suffix>; suffix: binary SI | decimal SI | e/E exponent.
const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;
const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

function reduce(num: bigint, den: bigint): Quantity {
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

function scaleByPowerOfTen(q: Quantity, exponent: number): Quantity {
  const factor = 10n ** BigInt(Math.abs(exponent));
  return exponent >= 0 ? reduce(q.num * factor, q.den) : reduce(q.num, q.den * factor);
}

/** Parses a quantity; null when the string is not one (as `isQuantity()` would say). */
export function parseQuantity(value: string): Quantity | null {
  const m = QUANTITY.exec(value);
  if (!m) return null;
  const [, sign = '', digits = '', suffix = ''] = m;
  const [whole = '', fraction = ''] = digits.split('.');
  const exponent = /^[eE]./.test(suffix) ? Number(suffix.slice(1)) : undefined;
  if (exponent !== undefined && Math.abs(exponent) > 1000) return null;
  let q = reduce(BigInt(`${whole || '0'}${fraction}`), 10n ** BigInt(fraction.length));
  if (sign === '-') q = { num: -q.num, den: q.den };
  const binary = BINARY[suffix];
  if (binary !== undefined) return reduce(q.num * binary, q.den);
  return scaleByPowerOfTen(q, exponent ?? DECIMAL_EXPONENT[suffix] ?? 0);
}

export const isQuantity = (value: string): boolean => parseQuantity(value) !== null;

export const quantityIsInteger = (q: Quantity): boolean => q.den === 1n;

/** The integer value, as `quantity(...).asInteger()`: refuses fractions and values beyond int64. */
export function quantityAsInteger(q: Quantity): bigint {
  if (q.den !== 1n || q.num > MAX_INT64 || q.num < MIN_INT64) {
    throw new AcpError('ACP_ERR_INVALID_QUANTITY', 'the quantity is not an integer that fits in int64');
  }
  return q.num;
}

/** -1, 0 or 1 as a < b, a == b, a > b. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export const quantityToNumber = (q: Quantity): number => Number(q.num) / Number(q.den);

/**
 * A byte count from an int-or-string field (2097152, "2Mi", "1.5Ki", "1e6"):
 * the same grammar the CRD's CEL rules accept. Refuses fractions of a byte,
 * negative values and values beyond Number.MAX_SAFE_INTEGER.
 */
export function quantityToBytes(value: number | string): number {
  const q =
    typeof value === 'number'
      ? Number.isInteger(value)
        ? { num: BigInt(value), den: 1n }
        : null
      : parseQuantity(value);
  if (!q || q.den !== 1n || q.num < 0n || q.num > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new AcpError(
      'ACP_ERR_INVALID_QUANTITY',
      `${JSON.stringify(value)} is not a whole number of bytes like 2Mi, 16Ki or 1048576`,
    );
  }
  return Number(q.num);
}
