// Per-path JWT rules of the sidecar config, compiled once per config
// snapshot into matchers: a rule matches when one of its path patterns and
// (when it lists any) one of its methods match; the first matching rule
// wins. Patterns: "/exact", "/prefix/*" (anything below the prefix, at any
// depth), and "*" inside a pattern for exactly one segment ("/v1/*/items").
// Matching runs on the canonical path. Pure.
import type { SidecarConfig } from '@acp/crds/sidecar';

type JwtConfig = NonNullable<SidecarConfig['jwt']>;
type RuleConfig = JwtConfig['rules'][number];

export interface CompiledRule {
  readonly index: number;
  readonly public: boolean;
  /** Provider names allowed for this rule; empty = any provider. */
  readonly providers: readonly string[];
  readonly requiredScopes: readonly string[];
  readonly methods: ReadonlySet<string> | null;
  readonly matchPath: (path: string) => boolean;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiles one path pattern into a predicate on canonical paths. */
export function compilePathPattern(pattern: string): (path: string) => boolean {
  if (!pattern.includes('*')) return (path) => path === pattern;
  if (pattern.endsWith('/*') && !pattern.slice(0, -2).includes('*')) {
    const prefix = pattern.slice(0, -1);
    return (path) => path.startsWith(prefix) && path.length > prefix.length;
  }
  const source = pattern
    .split('/')
    .map((seg) => (seg === '*' ? '[^/]+' : escapeRegExp(seg).replace(/\*/g, '[^/]*')))
    .join('/');
  const re = new RegExp(`^${source}${pattern.endsWith('/*') ? '(?:/.*)?' : ''}$`);
  return (path) => re.test(path);
}

export function compileRule(rule: RuleConfig, index: number): CompiledRule {
  const matchers = rule.paths.map(compilePathPattern);
  return {
    index,
    public: rule.public,
    providers: rule.providers,
    requiredScopes: rule.requiredScopes,
    methods: rule.methods.length > 0 ? new Set(rule.methods.map((m) => m.toUpperCase())) : null,
    matchPath: matchers.length === 1 && matchers[0] ? matchers[0] : (path) => matchers.some((m) => m(path)),
  };
}

/** The first rule matching method and path, or null (then any provider's valid token is required). */
export function matchRule(rules: readonly CompiledRule[], method: string, path: string): CompiledRule | null {
  for (const rule of rules) {
    if (rule.methods && !rule.methods.has(method)) continue;
    if (rule.matchPath(path)) return rule;
  }
  return null;
}
