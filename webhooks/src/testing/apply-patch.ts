// Applies an RFC 6902 JSON Patch (add, remove, replace) to a copy of a
// document: used by the tests to check that a patch turns the original
// into the mutated object, independently of how the patch was computed.
import { unescapePathToken, type PatchOperation } from '../admission/jsonpatch.ts';

function tokens(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`bad JSON pointer: ${path}`);
  return path.slice(1).split('/').map(unescapePathToken);
}

function index(arr: unknown[], token: string, forAdd: boolean): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`bad array index: ${token}`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new Error(`index out of range: ${token}`);
  return i;
}

function step(parent: unknown, token: string): unknown {
  if (Array.isArray(parent)) return parent[index(parent, token, false)];
  if (typeof parent === 'object' && parent !== null && Object.hasOwn(parent, token)) {
    return (parent as Record<string, unknown>)[token];
  }
  throw new Error(`path does not exist at ${token}`);
}

function applyOne(doc: unknown, op: PatchOperation): unknown {
  const path = tokens(op.path);
  const last = path.pop();
  if (last === undefined) {
    if (op.op === 'remove') throw new Error('cannot remove the root');
    return structuredClone(op.value);
  }
  const parent = path.reduce(step, doc);
  if (Array.isArray(parent)) {
    const i = index(parent, last, op.op === 'add');
    if (op.op === 'add') parent.splice(i, 0, structuredClone(op.value));
    else if (op.op === 'replace') parent[i] = structuredClone(op.value);
    else parent.splice(i, 1);
    return doc;
  }
  if (typeof parent !== 'object' || parent === null) throw new Error(`not a container at ${op.path}`);
  const obj = parent as Record<string, unknown>;
  if (op.op !== 'add' && !Object.hasOwn(obj, last)) throw new Error(`no member ${last} at ${op.path}`);
  if (op.op === 'remove') Reflect.deleteProperty(obj, last);
  else obj[last] = structuredClone(op.value);
  return doc;
}

export function applyPatch(doc: unknown, ops: readonly PatchOperation[]): unknown {
  return ops.reduce(applyOne, structuredClone(doc));
}
