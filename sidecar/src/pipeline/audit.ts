// The audit trail: one JSON line per decision, in the same format pino
// writes (`{"level":30,"time":"<ISO>","type":"audit",...}`), to the
// buffered destination shared with the operational log (so lines stay in
// order and are flushed together on exit). A request's record is written
// by hand, field by field, with a fast path for strings that need no
// escaping and the time string reused within a millisecond: pino's
// generic serializer was ~7% of the CPU per request. Refused connections
// and outbound calls, which are rare, go through JSON.stringify. Never
// given Authorization or cookies: callers pass only the fields below and
// the configured audit headers, which exclude them.
import type { Decision } from './types.ts';

/** Where lines go: pino's destination (SonicBoom) in production, an array in tests. */
export interface LineSink {
  write(line: string): unknown;
}

export interface RequestRecord {
  readonly requestId: string;
  readonly peer: string | undefined;
  readonly subject: string | undefined;
  readonly client: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly decision: Decision;
  readonly reason: string;
  readonly wouldDeny: readonly string[] | undefined;
  readonly latencyMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** `namespace/name@generation` of the policy, already a JSON string (see jsonString). */
  readonly policyJson: string;
  /** [name, value] pairs of the configured audit headers present on the request, or undefined (none configured). */
  readonly headers: readonly (readonly [string, string])[] | undefined;
}

export interface AuditLog {
  /** One request's record (the hot path). */
  request(r: RequestRecord): void;
  /** Any other record: `type: "audit"` plus these fields (undefined ones left out). */
  record(fields: Record<string, unknown>): void;
}

/** Printable ASCII without `"` and `\`: written as is; anything else goes through JSON.stringify. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

export function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** The inside of jsonString(s) (no quotes): `s` itself when it needs no escaping, so the line is built without a quoted copy per field. */
function inner(s: string): string {
  return PLAIN.test(s) ? s : JSON.stringify(s).slice(1, -1);
}

function jsonOrNull(s: string | undefined): string {
  return s === undefined ? 'null' : `"${inner(s)}"`;
}

function headersJson(pairs: readonly (readonly [string, string])[]): string {
  let out = '{';
  for (const [name, value] of pairs) out += `${out.length > 1 ? ',' : ''}"${inner(name)}":"${inner(value)}"`;
  return `${out}}`;
}

export function createAuditLog(out: LineSink, nowMs: () => number): AuditLog {
  let lastMs = Number.NaN;
  let lastPrefix = '';
  const prefix = (): string => {
    const now = nowMs();
    if (now !== lastMs) {
      lastMs = now;
      lastPrefix = `{"level":30,"time":"${new Date(now).toISOString()}","type":"audit"`;
    }
    return lastPrefix;
  };
  return {
    request(r) {
      let line =
        `${prefix()},"requestId":"${inner(r.requestId)}","peer":${jsonOrNull(r.peer)}` +
        `,"subject":${jsonOrNull(r.subject)},"client":"${inner(r.client)}","method":"${inner(r.method)}"` +
        `,"path":"${inner(r.path)}","status":${r.status},"decision":"${r.decision}","reason":"${inner(r.reason)}"`;
      if (r.wouldDeny) line += `,"wouldDeny":${JSON.stringify(r.wouldDeny)}`;
      line += `,"latencyMs":${r.latencyMs},"bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut},"policy":${r.policyJson}`;
      if (r.headers) line += `,"headers":${headersJson(r.headers)}`;
      out.write(`${line}}\n`);
    },
    record(fields) {
      const rest = JSON.stringify(fields);
      out.write(`${prefix()}${rest.length > 2 ? `,${rest.slice(1)}` : '}'}\n`);
    },
  };
}
