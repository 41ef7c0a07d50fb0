// The URI SANs of a certificate from Node's subjectAltName string
// ("DNS:a, URI:spiffe://x"; values holding separators are JSON-quoted).
// Pure.

export function parseSubjectAltNameUris(san: string | undefined): string[] {
  const out: string[] = [];
  for (const m of (san ?? '').matchAll(/(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const v = m[1] ?? '';
    out.push(v.startsWith('"') ? (JSON.parse(v) as string) : v);
  }
  return out;
}
