// Splits the text of a policy file (YAML, possibly several documents, or
// JSON) into the ApiCompliancePolicy documents it holds, each with a label
// that says where it came from; other kinds are skipped (a GitOps file may
// hold a Deployment too), unreadable documents are errors. Pure.
import { parseAllDocuments } from 'yaml';
import { API_VERSION, KIND } from '@acp/crds';

export interface InputFile {
  /** As given on the command line ("-" for stdin). */
  name: string;
  text: string;
}

export interface PolicyDocument {
  /** file, or file#N (1-based) when the file holds several documents. */
  source: string;
  /** namespace/name, namespace as -n says when the document names none. */
  label: string;
  value: Record<string, unknown>;
}

export interface DocumentSet {
  policies: PolicyDocument[];
  /** source: why the document could not be read. */
  errors: string[];
  /** source: what was skipped (another kind). */
  skipped: string[];
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function labelOf(value: Record<string, unknown>, namespace: string): string {
  const meta = isRecord(value['metadata']) ? value['metadata'] : {};
  const ns = typeof meta['namespace'] === 'string' ? meta['namespace'] : namespace;
  const name = typeof meta['name'] === 'string' ? meta['name'] : '(no name)';
  return `${ns}/${name}`;
}

/** Puts the -n namespace on policies that name none, as kubectl apply -n does. */
function withNamespace(value: Record<string, unknown>, namespace: string): Record<string, unknown> {
  const meta = isRecord(value['metadata']) ? value['metadata'] : {};
  if (typeof meta['namespace'] === 'string') return value;
  return { ...value, metadata: { ...meta, namespace } };
}

export interface SourcedDocument {
  /** file, or file#N (1-based) when the file holds several documents. */
  source: string;
  value: Record<string, unknown>;
}

/** Every non-empty document of the files, in order (objects only; the rest are errors). */
export function readDocuments(files: readonly InputFile[]): {
  documents: SourcedDocument[];
  errors: string[];
} {
  const out: { documents: SourcedDocument[]; errors: string[] } = { documents: [], errors: [] };
  for (const file of files) {
    // YAML 1.1, as kubectl reads it: a bare y/n/on/off is a boolean there, so `acp validate` sees what the apiserver will.
    const docs = parseAllDocuments(file.text, { version: '1.1' });
    const list = Array.isArray(docs) ? docs : [];
    list.forEach((doc, i) => {
      const source = list.length > 1 ? `${file.name}#${i + 1}` : file.name;
      const error = doc.errors[0];
      if (error) {
        out.errors.push(`${source}: not valid YAML: ${error.message.split('\n')[0] ?? error.message}`);
        return;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) return;
      if (!isRecord(value)) {
        out.errors.push(`${source}: not an object`);
        return;
      }
      out.documents.push({ source, value });
    });
  }
  return out;
}

export const isPolicyDocument = (value: Record<string, unknown>): boolean =>
  value['kind'] === KIND && value['apiVersion'] === API_VERSION;

/** The policies in the files, in order. */
export function readPolicyDocuments(files: readonly InputFile[], namespace: string): DocumentSet {
  const { documents, errors } = readDocuments(files);
  const out: DocumentSet = { policies: [], errors, skipped: [] };
  for (const { source, value } of documents) {
    if (!isPolicyDocument(value)) {
      out.skipped.push(
        `${source}: ${typeof value['kind'] === 'string' ? value['kind'] : 'a document without kind'} is not a ${API_VERSION} ${KIND}`,
      );
      continue;
    }
    out.policies.push({ source, label: labelOf(value, namespace), value: withNamespace(value, namespace) });
  }
  return out;
}
