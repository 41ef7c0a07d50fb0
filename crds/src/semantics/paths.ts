// The path patterns of JWT rules and what they match, as the sidecar
// must implement them: an exact canonical path ("/healthz") matches only
// itself; a prefix pattern ("/v1/data/*") matches every canonical path
// strictly below "/v1/data/" ("/v1/data/x", "/v1/data/x/y"), not
// "/v1/data" or "/v1/data/" themselves; "/*" matches every path but "/".
// Patterns that could never match a canonical path (a "*" not after a
// "/", dot segments, encoded slashes or backslashes, NUL) are problems the
// policy validation reports; the sidecar's matcher must agree. Pure.

export type PathPattern = { kind: 'exact'; path: string } | { kind: 'prefix'; prefix: string };

export function parsePathPattern(pattern: string): PathPattern {
  return pattern.endsWith('/*')
    ? { kind: 'prefix', prefix: pattern.slice(0, -1) }
    : { kind: 'exact', path: pattern };
}

/** Whether a canonical request path matches the pattern. */
export function pathMatches(pattern: PathPattern, path: string): boolean {
  if (pattern.kind === 'exact') return pattern.path === path;
  return path.length > pattern.prefix.length && path.startsWith(pattern.prefix);
}

/** Whether every path `inner` matches is also matched by `outer`. */
export function patternCovers(outer: PathPattern, inner: PathPattern): boolean {
  if (inner.kind === 'exact') return pathMatches(outer, inner.path);
  return outer.kind === 'prefix' && inner.prefix.startsWith(outer.prefix);
}

/** Why a pattern can never match a canonical path, or undefined when it can. */
export function pathPatternProblem(pattern: string): string | undefined {
  if (pattern.includes('*') && !pattern.endsWith('/*')) {
    return 'a wildcard must be a whole last segment ("/prefix/*"); "*" inside a segment is not supported';
  }
  const body = pattern.endsWith('/*') ? pattern.slice(0, -1) : pattern;
  if (body.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'dot segments ("." or "..") never appear in a canonical path';
  }
  if (/%(2f|5c|00)/i.test(pattern)) {
    return 'an encoded slash, backslash or NUL never appears in a canonical path (the sidecar refuses them)';
  }
  return undefined;
}
