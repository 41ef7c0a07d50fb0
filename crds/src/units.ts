// Parses the units the API uses: Go durations ("24h", "1h30m", "90s") and
// Kubernetes quantities for byte sizes ("2Mi", "16Ki", "1048576"), with
// typed errors that name the value. Pure.
import { AcpError } from './errors.ts';

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration into milliseconds. */
export function parseDurationMs(value: string): number {
  if (!/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    throw new AcpError('ACP_ERR_INVALID_DURATION', `"${value}" is not a duration like 24h, 90m or 1h30m`);
  }
  let total = 0;
  for (const m of value.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? 0);
  }
  return Math.round(total);
}

/** Formats milliseconds as a Go-style duration (e.g. 8h0m0s -> "8h", 90000 -> "1m30s"). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}

const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL_SUFFIX: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Parses a byte quantity (integer or Kubernetes quantity string) into an integer number of bytes. */
export function parseByteQuantity(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new AcpError('ACP_ERR_INVALID_QUANTITY', `${value} is not a whole number of bytes`);
    }
    return value;
  }
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value.trim());
  if (!m)
    throw new AcpError(
      'ACP_ERR_INVALID_QUANTITY',
      `"${value}" is not a byte quantity like 2Mi, 16Ki or 1048576`,
    );
  const suffix = m[2] ?? '';
  const factor = BINARY_SUFFIX[suffix] ?? DECIMAL_SUFFIX[suffix] ?? 1;
  const bytes = Number(m[1]) * factor;
  if (!Number.isSafeInteger(bytes)) {
    throw new AcpError('ACP_ERR_INVALID_QUANTITY', `"${value}" is not a whole number of bytes`);
  }
  return bytes;
}
