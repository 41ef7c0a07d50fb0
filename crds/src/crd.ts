// Where the CRD YAML (the source of truth for the API) lives, and a pure
// reader of its openAPIV3Schema, so tools that evaluate the CRD's own CEL
// rules offline (the `acp` CLI) read the same file the apiserver is given.
// The URL is only a location: reading the file is the caller's I/O.
import { parse } from 'yaml';
import { AcpError } from './errors.ts';
import { CRD_NAME, VERSION } from './names.ts';

/** The CRD manifest, crds/manifests/apicompliancepolicies.compliance.acp.dev.yaml. */
export const CRD_MANIFEST_URL = new URL(`../manifests/${CRD_NAME}.yaml`, import.meta.url);

interface CrdDocument {
  kind?: unknown;
  spec?: { versions?: { name?: unknown; schema?: { openAPIV3Schema?: unknown } }[] };
}

/** The openAPIV3Schema of one version of the CRD in `yamlText` (v1alpha1 by default). */
export function crdOpenApiSchema(yamlText: string, version: string = VERSION): Record<string, unknown> {
  const doc = parse(yamlText) as CrdDocument | null;
  if (doc?.kind !== 'CustomResourceDefinition') {
    throw new AcpError('ACP_ERR_CRD_INVALID', 'the document is not a CustomResourceDefinition');
  }
  const schema = doc.spec?.versions?.find((v) => v.name === version)?.schema?.openAPIV3Schema;
  if (typeof schema !== 'object' || schema === null) {
    throw new AcpError('ACP_ERR_CRD_INVALID', `the CRD has no openAPIV3Schema for version ${version}`);
  }
  return schema as Record<string, unknown>;
}
