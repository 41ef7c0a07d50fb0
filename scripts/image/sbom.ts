// The image's software bill of materials as CycloneDX 1.5 JSON: the image
// itself (name, digest) and every component inside (Node, the Debian
// packages its shared libraries come from, the npm packages), each with a
// package URL. Deterministic: no timestamp or random serial number, so the
// same image gives the same SBOM. Pure.
import type { Component } from './contents.ts';

function purl(c: Component): string {
  switch (c.kind) {
    case 'npm': {
      const [scope, name] = c.name.startsWith('@') ? c.name.split('/') : [undefined, c.name];
      return `pkg:npm/${scope ? `${encodeURIComponent(scope)}/` : ''}${name}@${c.version}`;
    }
    case 'deb':
      return `pkg:deb/debian/${c.name}@${encodeURIComponent(c.version)}?arch=amd64`;
    case 'node':
      return `pkg:generic/nodejs@${c.version}`;
  }
}

export function cycloneDx(
  image: { name: string; version: string; digest: string },
  components: readonly Component[],
): string {
  const hex = image.digest.slice('sha256:'.length);
  const serial = `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  const doc = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: serial,
    version: 1,
    metadata: {
      component: {
        type: 'container',
        name: image.name,
        version: image.version,
        hashes: [{ alg: 'SHA-256', content: hex }],
        purl: `pkg:oci/${image.name.split('/').pop()?.split(':')[0] ?? 'image'}@${encodeURIComponent(image.digest)}`,
      },
      tools: { components: [{ type: 'application', name: 'scripts/image.ts' }] },
    },
    components: components.map((c) => ({
      type: c.kind === 'npm' ? 'library' : 'application',
      name: c.name,
      version: c.version,
      purl: purl(c),
      ...(c.license ? { licenses: [{ expression: c.license }] } : {}),
      properties: [{ name: 'acp:path', value: c.path }],
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
