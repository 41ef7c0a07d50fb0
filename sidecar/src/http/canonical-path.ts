// The one canonical form of a request path that authorization and
// forwarding both use. Percent-decodes unreserved characters, resolves "."
// and ".." segments that stay inside the root, collapses nothing else, and
// REFUSES (returns a reason) what the app could route differently from the
// path the sidecar decided on:
// - encoded "/" or "\", a backslash, NUL and other control bytes, raw
//   bytes outside ASCII, a ".." that climbs above "/", an encoded "."
//   segment, empty segments, invalid percent escapes, fragments and
//   non-origin-form targets;
// - ";" path parameters (servlet containers drop `;...` from each segment
//   before routing, so `/public/..;/admin` is served as `/admin`), unless
//   the policy allows matrix parameters: then the rules match on the path
//   without them (`route`), the app gets them, and a parameter on an
//   empty or dot segment is refused; an encoded ";" (`%3B`) always;
// - an escaped percent escape (`%252e`: an app that decodes twice reads
//   another path);
// - escaped bytes that are not UTF-8 (overlong forms such as `%C0%AE` for
//   "."), and characters that Unicode compatibility normalization (NFKC)
//   turns into ASCII (fullwidth `%EF%BC%8E` for ".", fullwidth letters):
//   an app that normalizes would route on another path.
// Pure.
import { hexValue } from './percent.ts';

export type CanonicalResult =
  | {
      ok: true;
      /** The path the app is sent. */
      path: string;
      query: string;
      /** The path the rules match, when it differs from `path` (matrix parameters left out). */
      route?: string;
    }
  | { ok: false; reason: string };

export interface CanonicalOptions {
  /** `;` parameters in path segments are kept for the app and left out for matching (else refused). */
  readonly allowMatrixParameters?: boolean;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Why escaped bytes >= 0x80 are refused: not UTF-8, or a character NFKC turns into ASCII; or null. */
function escapedTextProblem(bytes: readonly number[]): string | null {
  let text: string;
  try {
    text = utf8.decode(Uint8Array.from(bytes));
  } catch {
    return 'percent escapes that are not UTF-8 in path';
  }
  for (const ch of text) {
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x7f]/.test(ch.normalize('NFKC')))
      return 'a character that Unicode normalization turns into ASCII in path';
  }
  return null;
}

/** The escape %XX at raw[i], as a byte, or -1. */
function escapedByte(raw: string, i: number): number {
  const hi = hexValue(raw.charCodeAt(i + 1));
  const lo = hexValue(raw.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/** Why the escaped byte of the escape at raw[i] is refused, or null. */
function escapedByteProblem(byte: number, raw: string, i: number): string | null {
  if (byte < 0) return 'invalid percent escape in path';
  if (byte === 0x2f) return 'encoded slash in path';
  if (byte === 0x5c) return 'encoded backslash in path';
  if (byte === 0x3b) return 'encoded semicolon in path';
  if (byte < 0x20 || byte === 0x7f) return 'encoded control character in path';
  if (byte === 0x25 && escapedByte(raw, i + 2) >= 0) return 'escaped percent escape in path';
  return null;
}

/** Decodes %XX of unreserved characters, keeps every other escape (upper-cased), or the reason it refuses. */
function decodeSegmentEscapes(raw: string): { text: string } | { reason: string } {
  let out = '';
  /** Escaped bytes >= 0x80 of the current run of escapes: one UTF-8 text, checked when the run ends. */
  const high: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch < 0x21 || ch >= 0x7f) return { reason: 'control character, space or non-ASCII byte in path' };
    if (ch === 0x5c) return { reason: 'backslash in path' };
    const byte = ch === 0x25 ? escapedByte(raw, i) : ch;
    let problem = ch === 0x25 ? escapedByteProblem(byte, raw, i) : null;
    if (!problem && high.length > 0 && (ch !== 0x25 || byte < 0x80))
      problem = escapedTextProblem(high.splice(0));
    if (problem) return { reason: problem };
    if (ch !== 0x25) {
      out += raw.charAt(i);
      continue;
    }
    i += 2;
    if (byte >= 0x80) high.push(byte);
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(c) ? c : `%${raw.slice(i - 1, i + 1).toUpperCase()}`;
  }
  const problem = high.length > 0 ? escapedTextProblem(high) : null;
  return problem ? { reason: problem } : { text: out };
}

function isFast(path: string): boolean {
  // Letters, digits, "/", "-", "_", and "." not forming a dot segment: nothing to do.
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    const plain =
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      (c >= 48 && c <= 57) ||
      c === 45 ||
      c === 95 ||
      c === 47;
    if (plain) continue;
    if (c === 46 && path.charCodeAt(i - 1) !== 47) continue;
    return false;
  }
  return !path.includes('//');
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A raw segment split at its first ";" into the name and the parameters (with their ";"), or why it is refused. */
function splitParameters(raw: string, allow: boolean): { name: string; params: string } | { reason: string } {
  const semi = raw.indexOf(';');
  if (semi < 0) return { name: raw, params: '' };
  if (!allow) return { reason: 'semicolon (path parameter) in path' };
  const params = decodeSegmentEscapes(raw.slice(semi));
  if ('reason' in params) return params;
  return { name: raw.slice(0, semi), params: params.text };
}

/** Decodes and resolves the segments of a raw path, or says why it is refused. */
function resolveSegments(
  rawPath: string,
  allow: boolean,
): { path: string; route: string } | { reason: string } {
  const rawSegments = rawPath.split('/').slice(1);
  const out: string[] = [];
  const route: string[] = [];
  for (let i = 0; i < rawSegments.length; i++) {
    const split = splitParameters(rawSegments[i] ?? '', allow);
    if ('reason' in split) return split;
    const raw = split.name;
    const last = i === rawSegments.length - 1;
    const decoded = decodeSegmentEscapes(raw);
    if ('reason' in decoded) return { reason: decoded.reason };
    const seg = decoded.text;
    const dot = seg === '.' || seg === '..';
    if (split.params && (dot || seg === '')) return { reason: 'path parameter on an empty or dot segment' };
    if (dot && raw !== seg) return { reason: 'encoded dot segment in path' };
    if (seg === '..' && out.length === 0) return { reason: 'dot segment escapes the root' };
    if (seg === '..') {
      out.pop();
      route.pop();
    }
    if (dot) {
      if (last) {
        out.push('');
        route.push('');
      }
      continue;
    }
    if (seg === '' && !last) return { reason: 'empty path segment' };
    out.push(seg + split.params);
    route.push(seg);
  }
  return { path: `/${out.join('/')}`, route: `/${route.join('/')}` };
}

/** Canonicalizes a request target (origin-form: "/path?query"). */
export function canonicalizeTarget(target: string, options: CanonicalOptions = {}): CanonicalResult {
  if (target.length === 0 || target.charCodeAt(0) !== 47) {
    return { ok: false, reason: 'request target is not origin-form' };
  }
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  if (query.includes('#') || rawPath.includes('#'))
    return { ok: false, reason: 'fragment in request target' };
  if (hasControl(query)) return { ok: false, reason: 'control character in query' };
  if (isFast(rawPath)) return { ok: true, path: rawPath, query };
  const resolved = resolveSegments(rawPath, options.allowMatrixParameters === true);
  if ('reason' in resolved) return { ok: false, reason: resolved.reason };
  return resolved.route === resolved.path
    ? { ok: true, path: resolved.path, query }
    : { ok: true, path: resolved.path, query, route: resolved.route };
}
