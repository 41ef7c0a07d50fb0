// Requests that the sidecar and the app could read two different ways,
// found before any decision is made on them. One rule for both request
// paths: the fast path and node:http hand every request to the same layer
// (layers/request-hygiene.ts), which calls this over what
// scanRequestHeaders collected in its one pass, plus the query:
// - Host: exactly one field, holding host[:port] (RFC 9112 3.2);
// - Connection: it may not name a header the sidecar decided on or the app
//   reads end to end (Host, framing, credentials), and its elements are tokens;
// - credentials: at most one, counting every Authorization field, every
//   credential of a comma list in one field, every token of a Bearer value,
//   and every `access_token` query parameter (RFC 6750 2.3, removed by
//   OAuth 2.1), whose name is read the way lenient apps read it
//   (percent-decoded, any case, PHP's `.`/space/`[` rules, `;` separators);
//   a token in the query is refused even alone (the sidecar never checks it);
//   the same for `access_token` in a form-encoded body (RFC 6750 2.2), which
//   the body layer reads whole for this (bodyTokenAmbiguity);
// - names with "_" that CGI-style apps (HTTP_X_...) read as a header only
//   the sidecar may set, or as a framing or credential header.
// Pure.
import type { DenyCode } from '../codes.ts';
import { isSidecarOwned } from './headers.ts';
import { hexValue } from './percent.ts';
import type { RequestHeaders } from './request-headers.ts';
import { TOKEN } from './syntax.ts';

export interface Ambiguity {
  readonly code: DenyCode;
  readonly reason: string;
}

/** host[:port]: an IP literal, or a DNS-style name / IPv4 address; may be empty (RFC 9112 3.2). */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~]*)(?::[0-9]{1,5})?$/;

/** Headers a Connection option may not remove: the sidecar decided on them, or the app reads them end to end. */
const PROTECTED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'content-type',
  'content-encoding',
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-request-id',
]);

/** An auth-param (`name = value`, RFC 9110 11.2) of a credential, not a credential of its own. */
const AUTH_PARAM = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=/;

/** The elements of a comma list, commas inside quoted strings not splitting. */
function listElements(value: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted && c === 92) i++;
    else if (c === 34) quoted = !quoted;
    else if (c === 44 && !quoted) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out;
}

/**
 * How many credentials one Authorization value carries (RFC 9110 11.6.2:
 * `scheme [ 1*SP ( token68 / #auth-param ) ]`): every element of the list
 * that is not an auth-param starts another credential, and a Bearer
 * credential with whitespace inside its token holds several tokens.
 */
export function credentialsIn(value: string): number {
  // The common value (`Bearer <jwt>`) has no comma: one element, no list to split.
  const elements = value.includes(',') ? listElements(value) : [value.trim()];
  let n = 0;
  for (const [i, e] of elements.entries()) {
    if (e === '' || (i > 0 && AUTH_PARAM.test(e))) continue;
    n++;
  }
  const first = elements[0] ?? '';
  const sp = first.search(/[ \t]/);
  if (sp > 0 && first.slice(0, sp).toLowerCase() === 'bearer' && /[ \t]/.test(first.slice(sp).trim())) n++;
  return n;
}

/** A query parameter name as lenient apps read it: `+` and %XX decoded, lower case, PHP's mangling. */
export function queryParamName(raw: string): string {
  let name = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    const hi = c === 37 ? hexValue(raw.charCodeAt(i + 1)) : -1;
    const lo = c === 37 ? hexValue(raw.charCodeAt(i + 2)) : -1;
    if (hi >= 0 && lo >= 0) {
      name += String.fromCharCode(hi * 16 + lo);
      i += 2;
    } else name += c === 43 ? ' ' : raw.charAt(i);
  }
  name = name.trim().toLowerCase();
  const bracket = name.indexOf('[');
  if (bracket >= 0) name = name.slice(0, bracket);
  return name.replace(/[ .]/g, '_');
}

/** How many `access_token` parameters the query carries (separated by `&` or `;`). */
export function queryTokens(query: string): number {
  if (query === '' || (!query.includes('%') && !/token/i.test(query))) return 0;
  let n = 0;
  for (const pair of query.split(/[&;]/)) {
    const eq = pair.indexOf('=');
    if (queryParamName(eq < 0 ? pair : pair.slice(0, eq)) === 'access_token') n++;
  }
  return n;
}

function hostAmbiguity(h: RequestHeaders): Ambiguity | null {
  if (h.hosts > 1) return { code: 'ACP_ERR_HOST_INVALID', reason: `${h.hosts} Host fields` };
  if (h.host !== undefined && !HOST.test(h.host))
    return { code: 'ACP_ERR_HOST_INVALID', reason: 'malformed Host' };
  return null;
}

function connectionAmbiguity(connection: string): Ambiguity | null {
  for (const element of connection.split(',').map((e) => e.trim())) {
    if (element === '') continue;
    if (!TOKEN.test(element))
      return { code: 'ACP_ERR_HOP_BY_HOP_PROTECTED', reason: 'malformed Connection option' };
    if (PROTECTED.has(element.toLowerCase()))
      return { code: 'ACP_ERR_HOP_BY_HOP_PROTECTED', reason: `Connection names ${element.toLowerCase()}` };
  }
  return null;
}

function credentialAmbiguity(h: RequestHeaders, query: string): Ambiguity | null {
  const fields = h.authorizations;
  if (fields && fields.length > 1)
    return { code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS', reason: `${fields.length} Authorization fields` };
  const inHeader = fields?.[0] === undefined ? 0 : credentialsIn(fields[0]);
  if (inHeader > 1)
    return { code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS', reason: 'several credentials in Authorization' };
  const inQuery = queryTokens(query);
  if (inQuery === 0) return null;
  if (inHeader + inQuery > 1 || fields !== undefined)
    return {
      code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
      reason: 'access_token in the query with another credential',
    };
  return { code: 'ACP_ERR_TOKEN_IN_QUERY', reason: 'access_token in the query' };
}

/** True for an application/x-www-form-urlencoded Content-Type (any case, any parameters). */
export function isFormBody(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded';
}

/** An `access_token` in a form-encoded body: with any other credential ambiguous, alone refused (never checked). */
export function bodyTokenAmbiguity(h: RequestHeaders, query: string, body: Buffer): Ambiguity | null {
  const inBody = queryTokens(body.toString('latin1'));
  if (inBody === 0) return null;
  if (inBody > 1 || h.authorizations !== undefined || queryTokens(query) > 0)
    return {
      code: 'ACP_ERR_CREDENTIALS_AMBIGUOUS',
      reason: 'access_token in the body with another credential',
    };
  return { code: 'ACP_ERR_TOKEN_IN_BODY', reason: 'access_token in a form-encoded body' };
}

function nameAmbiguity(names: readonly string[]): Ambiguity | null {
  for (const name of names) {
    const dashed = name.replace(/_/g, '-');
    if (isSidecarOwned(dashed) || PROTECTED.has(dashed))
      return { code: 'ACP_ERR_HEADER_NAME_AMBIGUOUS', reason: `header ${name} reads as ${dashed}` };
  }
  return null;
}

/** The first way the request could be read two ways, or null. `query`: the raw query (no "?"). */
export function requestAmbiguity(h: RequestHeaders, query: string): Ambiguity | null {
  return (
    (h.hosts === 1 && h.host !== undefined && HOST.test(h.host) ? null : hostAmbiguity(h)) ??
    (h.connection === undefined ? null : connectionAmbiguity(h.connection)) ??
    (h.authorizations === undefined && query === '' ? null : credentialAmbiguity(h, query)) ??
    (h.underscored === undefined ? null : nameAmbiguity(h.underscored))
  );
}
