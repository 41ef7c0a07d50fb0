// HTTP/1.1 field syntax shared by the sidecar's two head parsers (the
// upstream response parser and the inbound fast path's request check) and
// its response writer: the token grammar of a field name, optional
// whitespace and its trimming, and one field line read strictly (no
// obs-fold, no whitespace before the colon). Pure.

/** A field name (RFC 9110 token). */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Space or tab, the only optional whitespace of HTTP. */
export const isOws = (c: number): boolean => c === 32 || c === 9;

/** text[from, to) without the spaces and tabs around it (the only optional whitespace of HTTP), nothing else. */
export function trimOws(text: string, from = 0, to = text.length): string {
  let a = from;
  let b = to;
  while (a < b && isOws(text.charCodeAt(a))) a++;
  while (b > a && isOws(text.charCodeAt(b - 1))) b--;
  return a === 0 && b === text.length ? text : text.slice(a, b);
}

/**
 * The field line text[pos, eol) as [name, value] (the value without its
 * surrounding optional whitespace), or why it is malformed: obsolete line
 * folding, a missing colon or a name that is not a token (which covers
 * whitespace before the colon), or a value `valueOk` refuses.
 */
export function fieldLine(
  text: string,
  pos: number,
  eol: number,
  valueOk: (value: string) => boolean,
): [string, string] | string {
  if (isOws(text.charCodeAt(pos))) return 'obsolete line folding';
  const colon = text.indexOf(':', pos);
  if (colon < 0 || colon > eol) return 'bad header name';
  const name = text.slice(pos, colon);
  if (!TOKEN.test(name)) return 'bad header name';
  const value = trimOws(text, colon + 1, eol);
  return valueOk(value) ? [name, value] : `bad value of header ${name}`;
}
