// The one canonical form of a request path that authorization and
// forwarding both use. Percent-decodes unreserved characters, resolves "."
// and ".." segments that stay inside the root, collapses nothing else, and
// REFUSES (returns a reason) what could be read two ways by the app:
// encoded "/" or "\", a backslash, NUL and other control bytes, a ".."
// that climbs above "/", an encoded "." segment, invalid percent escapes,
// and non-origin-form targets. Pure.

import { hexValue } from './percent.ts';

export type CanonicalResult = { ok: true; path: string; query: string } | { ok: false; reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Decodes %XX of unreserved characters, keeps every other escape (upper-cased), or the reason it refuses. */
function decodeSegmentEscapes(raw: string): { text: string } | { reason: string } {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch < 0x21 || ch === 0x7f) return { reason: 'control character or space in path' };
    if (ch === 0x5c) return { reason: 'backslash in path' };
    if (ch !== 0x25) {
      out += raw.charAt(i);
      continue;
    }
    const hi = hexValue(raw.charCodeAt(i + 1));
    const lo = hexValue(raw.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return { reason: 'invalid percent escape in path' };
    const byte = hi * 16 + lo;
    i += 2;
    if (byte === 0x2f) return { reason: 'encoded slash in path' };
    if (byte === 0x5c) return { reason: 'encoded backslash in path' };
    if (byte < 0x20 || byte === 0x7f) return { reason: 'encoded control character in path' };
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(c) ? c : `%${raw.slice(i - 1, i + 1).toUpperCase()}`;
  }
  return { text: out };
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

/** Decodes and resolves the segments of a raw path, or says why it is refused. */
function resolveSegments(rawPath: string): { path: string } | { reason: string } {
  const rawSegments = rawPath.split('/').slice(1);
  const out: string[] = [];
  for (let i = 0; i < rawSegments.length; i++) {
    const raw = rawSegments[i] ?? '';
    const last = i === rawSegments.length - 1;
    const decoded = decodeSegmentEscapes(raw);
    if ('reason' in decoded) return { reason: decoded.reason };
    const seg = decoded.text;
    const dot = seg === '.' || seg === '..';
    if (dot && raw !== seg) return { reason: 'encoded dot segment in path' };
    if (seg === '..' && out.length === 0) return { reason: 'dot segment escapes the root' };
    if (seg === '..') out.pop();
    if (dot) {
      if (last) out.push('');
      continue;
    }
    if (seg === '' && !last) return { reason: 'empty path segment' };
    out.push(seg);
  }
  return { path: `/${out.join('/')}` };
}

/** Canonicalizes a request target (origin-form: "/path?query"). */
export function canonicalizeTarget(target: string): CanonicalResult {
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
  const resolved = resolveSegments(rawPath);
  if ('reason' in resolved) return { ok: false, reason: resolved.reason };
  return { ok: true, path: resolved.path, query };
}
