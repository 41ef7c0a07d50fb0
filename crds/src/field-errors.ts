// Field errors of a schema validation: ajv's errors turned into dotted
// field paths (spec.jwt.providers[0].issuer) with one message each, and
// their one-line form. Shared by the policy and sidecar-config validators.
// Pure.

export interface ValidationError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

export interface FieldError {
  /** The field, as a dotted path: spec.tls.minVersion, spec.jwt.providers[0].issuer. */
  field: string;
  message: string;
  /** The JSON-schema keyword that failed (enum, type, pattern...), when the error comes from the schema. */
  keyword?: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Turns an ajv instancePath (/spec/jwt/providers/0/issuer) into spec.jwt.providers[0].issuer. */
export function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

function describe(e: ValidationError): FieldError {
  const base = fieldPath(e.instancePath);
  const p = e.params;
  switch (e.keyword) {
    case 'additionalProperties':
      return {
        field: base ? `${base}.${String(p['additionalProperty'])}` : String(p['additionalProperty']),
        message: 'unknown field',
      };
    case 'required':
      return {
        field: base ? `${base}.${String(p['missingProperty'])}` : String(p['missingProperty']),
        message: 'required field is missing',
      };
    case 'enum':
      return {
        field: base,
        message: `must be one of ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    default:
      return { field: base, message: e.message ?? e.keyword };
  }
}

/** Keeps the most specific error per field (ajv reports anyOf branches too). */
export function summarize(errors: readonly ValidationError[]): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const fe = describe(e);
    const key = `${fe.field}\u0000${fe.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...fe, keyword: e.keyword });
  }
  return out;
}

export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
}
