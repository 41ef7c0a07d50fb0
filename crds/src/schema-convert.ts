// Converts a Kubernetes structural OpenAPI v3 schema (the CRD's
// openAPIV3Schema) into the JSON Schema draft-07 that ajv validates and
// json-schema-to-typescript turns into types. Pure; no I/O.
//
// What changes: x-kubernetes-* extensions are dropped (CEL rules are
// evaluated separately, see cel/rules.ts), int-or-string keeps its anyOf,
// objects with declared properties become closed (additionalProperties:
// false, matching `kubectl apply --validate=strict`) unless they preserve
// unknown fields, and `metadata` stays open.

export type JsonSchema = Record<string, unknown>;

const DROPPED_KEYS = new Set([
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function convertChildren(node: Record<string, unknown>, out: JsonSchema): void {
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_KEYS.has(key)) continue;
    if (key === 'format' && value === 'int64') continue;
    if (key === 'properties' && isRecord(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, convertNode(child, name === 'metadata')]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && isRecord(value)) {
      out[key] = convertNode(value, false);
    } else if (key === 'anyOf' && Array.isArray(value)) {
      out[key] = value.map((child) => convertNode(child, false));
    } else {
      out[key] = value;
    }
  }
}

function convertNode(node: unknown, open: boolean): JsonSchema {
  if (!isRecord(node)) return {};
  const out: JsonSchema = {};
  convertChildren(node, out);
  const preserves = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node['type'] === 'object' && isRecord(node['properties']) && !preserves && !open) {
    if (!('additionalProperties' in out)) out['additionalProperties'] = false;
  }
  if (node['type'] === 'object' && open) delete out['additionalProperties'];
  return out;
}

/** Converts a CRD version's openAPIV3Schema to a draft-07 JSON Schema with a title and an $id. */
export function crdSchemaToJsonSchema(openApi: unknown, meta: { title: string; id: string }): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: meta.id,
    title: meta.title,
    ...convertNode(openApi, false),
  };
}
