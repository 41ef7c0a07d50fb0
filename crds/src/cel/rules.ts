// Evaluates a CRD's `x-kubernetes-validations` rules offline, the way the
// apiserver does: every rule is compiled once from the CRD's own
// openAPIV3Schema (the same YAML the apiserver is given, never a hand
// copy), then evaluated with `self` bound to each node of an object that is
// present (absent optional nodes are skipped). A failing rule is reported
// as `field: message` using the rule's message (or messageExpression) and
// fieldPath. Also checks what `x-kubernetes-list-type` set/map promise
// (no duplicate items or keys), which the structural JSON schema cannot.
// Transition rules (oldSelf) are skipped: offline, every object is new.
// Pure; no I/O.
import type { Environment } from '@marcbachmann/cel-js';
import { AcpError } from '../errors.ts';
import type { FieldError } from '../validate.ts';
import { kubernetesCelEnvironment, toCelValue } from './library.ts';

/** One entry of `x-kubernetes-validations`. */
export interface CrdRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
}

type Program = ReturnType<Environment['parse']>;

interface CompiledRule {
  source: CrdRule;
  program: Program;
  messageProgram: Program | undefined;
}

interface CompiledNode {
  rules: CompiledRule[];
  properties: Map<string, CompiledNode>;
  items: CompiledNode | undefined;
  additionalProperties: CompiledNode | undefined;
  listType: string | undefined;
  mapKeys: string[];
}

/** A CRD's validation rules, compiled. */
export interface CrdRuleValidator {
  /** Field errors of every rule that does not hold for `object` (empty when all hold). */
  validate(object: unknown): FieldError[];
  /** How many rules were compiled (transition rules excluded). */
  readonly ruleCount: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const childPath = (path: string, name: string): string => (path ? `${path}.${name}` : name);

function compileProgram(env: Environment, expression: string, where: string): Program {
  let program: Program;
  try {
    program = env.parse(expression);
  } catch (e) {
    throw new AcpError(
      'ACP_ERR_CEL_COMPILE',
      `${where}: cannot parse CEL rule "${expression}": ${summary(e)}`,
    );
  }
  const check = program.check();
  if (!check.valid) {
    throw new AcpError(
      'ACP_ERR_CEL_COMPILE',
      `${where}: CEL rule "${expression}" does not type-check: ${summary(check.error)}`,
    );
  }
  return program;
}

function compileRules(env: Environment, node: Record<string, unknown>, path: string): CompiledRule[] {
  const raw = node['x-kubernetes-validations'];
  if (!Array.isArray(raw)) return [];
  const out: CompiledRule[] = [];
  for (const entry of raw as CrdRule[]) {
    if (/\boldSelf\b/.test(entry.rule)) continue;
    const where = path || '<root>';
    out.push({
      source: entry,
      program: compileProgram(env, entry.rule, where),
      messageProgram: entry.messageExpression
        ? compileProgram(env, entry.messageExpression, where)
        : undefined,
    });
  }
  return out;
}

function compileNode(env: Environment, node: unknown, path: string): CompiledNode {
  const schema = isRecord(node) ? node : {};
  const properties = new Map<string, CompiledNode>();
  if (isRecord(schema['properties'])) {
    for (const [name, child] of Object.entries(schema['properties'])) {
      properties.set(name, compileNode(env, child, childPath(path, name)));
    }
  }
  const mapKeys = schema['x-kubernetes-list-map-keys'];
  return {
    rules: compileRules(env, schema, path),
    properties,
    items: isRecord(schema['items']) ? compileNode(env, schema['items'], `${path}[*]`) : undefined,
    additionalProperties: isRecord(schema['additionalProperties'])
      ? compileNode(env, schema['additionalProperties'], `${path}[*]`)
      : undefined,
    listType:
      typeof schema['x-kubernetes-list-type'] === 'string' ? schema['x-kubernetes-list-type'] : undefined,
    mapKeys: Array.isArray(mapKeys) ? mapKeys.filter((k): k is string => typeof k === 'string') : [],
  };
}

function countRules(node: CompiledNode): number {
  let n = node.rules.length;
  for (const child of node.properties.values()) n += countRules(child);
  if (node.items) n += countRules(node.items);
  if (node.additionalProperties) n += countRules(node.additionalProperties);
  return n;
}

function summary(e: unknown): string {
  if (e instanceof Error) {
    const s = (e as Error & { summary?: unknown }).summary;
    return typeof s === 'string' ? s : (e.message.split('\n')[0] ?? e.message);
  }
  return String(e);
}

/** JSON with bigints (CEL ints) as numbers, for messages and equality. */
const stableJson = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) ?? 'null';

function ruleField(path: string, fieldPath: string | undefined): string {
  if (!fieldPath) return path;
  if (!path) return fieldPath.replace(/^\./, '');
  return `${path}${fieldPath}`;
}

function ruleMessage(rule: CompiledRule, self: unknown): string {
  if (rule.messageProgram) {
    try {
      const m: unknown = rule.messageProgram({ self });
      if (typeof m === 'string' && m.trim() !== '') return m;
    } catch {
      // fall back to message, as the apiserver does
    }
  }
  return rule.source.message ?? `failed rule: ${rule.source.rule}`;
}

function evaluateRules(node: CompiledNode, self: unknown, path: string, errors: FieldError[]): void {
  for (const rule of node.rules) {
    let result: unknown;
    try {
      result = rule.program({ self });
    } catch (e) {
      errors.push({
        field: path,
        message: `rule "${rule.source.rule}" could not be evaluated: ${summary(e)}`,
      });
      continue;
    }
    if (result === true) continue;
    const field = ruleField(path, rule.source.fieldPath);
    if (typeof result !== 'boolean') {
      errors.push({ field, message: `rule "${rule.source.rule}" did not evaluate to a bool` });
    } else {
      errors.push({ field, message: ruleMessage(rule, self) });
    }
  }
}

function checkListType(node: CompiledNode, list: unknown[], path: string, errors: FieldError[]): void {
  if (node.listType !== 'set' && node.listType !== 'map') return;
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const identity =
      node.listType === 'map' && isRecord(item)
        ? Object.fromEntries(node.mapKeys.map((k) => [k, item[k] ?? null]))
        : item;
    const key = stableJson(identity);
    if (seen.has(key)) errors.push({ field: `${path}[${i}]`, message: `Duplicate value: ${key}` });
    seen.add(key);
  });
}

function walk(node: CompiledNode, value: unknown, path: string, errors: FieldError[]): void {
  if (value === undefined || value === null) return;
  evaluateRules(node, value, path, errors);
  if (Array.isArray(value)) {
    checkListType(node, value, path, errors);
    const items = node.items;
    if (items) value.forEach((item, i) => walk(items, item, `${path}[${i}]`, errors));
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const property = node.properties.get(key);
    if (property) walk(property, child, childPath(path, key), errors);
    else if (node.additionalProperties) walk(node.additionalProperties, child, `${path}[${key}]`, errors);
  }
}

/**
 * Compiles every `x-kubernetes-validations` rule of a CRD version's
 * openAPIV3Schema. Throws ACP_ERR_CEL_COMPILE naming the schema path when a
 * rule does not parse or uses a function this evaluator does not have.
 */
export function compileCrdRules(
  openApiSchema: unknown,
  env: Environment = kubernetesCelEnvironment(),
): CrdRuleValidator {
  const root = compileNode(env, openApiSchema, '');
  return {
    ruleCount: countRules(root),
    validate(object: unknown): FieldError[] {
      const errors: FieldError[] = [];
      walk(root, toCelValue(object), '', errors);
      return errors;
    },
  };
}
