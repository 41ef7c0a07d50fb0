// One token, one string: the only form of a bearer JWT the sidecar hands to
// jose is the canonical compact JWS serialization (RFC 7515 7.1): exactly
// three segments of the base64url alphabet (only the signature may be empty), without padding or
// whitespace, each the one encoding of its bytes (no stray trailing bits),
// a header and a payload that are UTF-8 JSON objects without duplicate
// member names (a first-wins parser in the app would read other claims
// than the sidecar checked), and no header parameter that changes how the
// token is read: `b64` (RFC 7797, unencoded payloads) is refused whatever
// its value, and so is `crit`, since the sidecar understands no extension
// (RFC 7515 4.1.11). Everything else is jose's to check. Pure.
import { AcpError } from '@acp/crds/sidecar';

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A JWS written another way than the one canonical string (padding, whitespace, alphabet, stray bits, repeated members). */
const notCanonical = (reason: string): AcpError => new AcpError('ACP_ERR_JWT_NOT_CANONICAL', reason);
/** Not a JWS at all (segments missing or extra, a header or payload that is no JSON object). */
const malformed = (reason: string): AcpError => new AcpError('ACP_ERR_JWT_MALFORMED', reason);

/** Only the base64url alphabet, and a length some bytes encode to. */
const base64url = (segment: string): boolean => SEGMENT.test(segment) && segment.length % 4 !== 1;

/** True when `segment` is the one encoding of `bytes` (no stray trailing bits). */
const canonical = (segment: string, bytes: Buffer): boolean => bytes.toString('base64url') === segment;

/** True when some object of the (valid) JSON text names a member twice (after unescaping). */
export function hasDuplicateMember(text: string): boolean {
  const objects: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 ? 2 : 1;
      const keys = objects.at(-1);
      if (keys && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return true;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 123) {
      objects.push(new Set());
      expectKey = true;
    } else if (c === 91) objects.push(null);
    else if (c === 125 || c === 93) objects.pop();
    else if (c === 44) expectKey = objects.at(-1) != null;
  }
  return false;
}

/** The JSON object a segment holds, or the error that refuses it. */
function jsonObject(segment: string, what: string): Record<string, unknown> {
  if (segment === '') throw malformed(`${what} is empty`);
  if (!base64url(segment)) throw notCanonical(`${what} is not unpadded base64url`);
  const bytes = Buffer.from(segment, 'base64url');
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw malformed(`${what} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed(`${what} is not a JSON object`);
  if (!canonical(segment, bytes)) throw notCanonical(`${what} is not the canonical encoding of its bytes`);
  if (hasDuplicateMember(text)) throw notCanonical(`${what} names a member twice`);
  return value as Record<string, unknown>;
}

/** Throws ACP_ERR_JWT_MALFORMED, _NOT_CANONICAL or _HEADER_PARAM unless `token` is a canonical compact JWS. */
export function checkCompactJws(token: string): void {
  const parts = token.split('.');
  if (parts.length !== 3) throw malformed(`${parts.length} segments, not 3`);
  const [header = '', payload = '', signature = ''] = parts;
  const h = jsonObject(header, 'header');
  jsonObject(payload, 'payload');
  // An empty signature (alg none) is left to jose, which refuses the algorithm.
  if (
    signature !== '' &&
    !(base64url(signature) && canonical(signature, Buffer.from(signature, 'base64url')))
  )
    throw notCanonical('signature is not canonical base64url');
  if ('b64' in h) throw new AcpError('ACP_ERR_JWT_HEADER_PARAM', 'b64 header parameter (RFC 7797)');
  if ('crit' in h) throw new AcpError('ACP_ERR_JWT_HEADER_PARAM', 'crit names an extension not understood');
}
