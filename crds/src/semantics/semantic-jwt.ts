// What the CRD schema lets through in spec.jwt but the sidecar could not
// enforce as written: inline keys that are not usable public signature
// keys, algorithms no key can verify, a claim forwarded in a header the
// sidecar sets itself (or twice in one header), rule paths that can never
// match a canonical path or are shadowed by an earlier rule (first match
// wins), and scopes that cannot appear in a scope claim. Pure
// (asynchronous: inline keys are parsed by jose).
import { AcpError } from '../errors.ts';
import type { FieldError } from '../field-errors.ts';
import { isSidecarSetHeader } from '../headers.ts';
import type { JwtProviderSpec, JwtRuleSpec, JwtSpec } from '../types.ts';
import { keyMatchesAlgorithm, validateJwks, type JwksLimits } from './jwks.ts';
import { parsePathPattern, pathPatternProblem, patternCovers } from './paths.ts';

// RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

async function inlineKeyErrors(
  provider: JwtProviderSpec,
  at: string,
  limits: JwksLimits,
): Promise<FieldError[]> {
  if (!provider.jwks) return [];
  let keys;
  try {
    keys = await validateJwks(provider.jwks, limits);
  } catch (e) {
    if (!(e instanceof AcpError)) throw e;
    const index = e.details['keyIndex'];
    const field = typeof index === 'number' ? `${at}.jwks.keys[${index}]` : `${at}.jwks`;
    return [{ field, message: e.message.replace(/^key \d+( \(kid "[^"]*"\))?: /, '') }];
  }
  const algorithms = provider.algorithms ?? [];
  if (keys.some((k) => algorithms.some((alg) => keyMatchesAlgorithm(k, alg)))) return [];
  return [
    {
      field: `${at}.algorithms`,
      message: `no key in jwks can verify ${algorithms.join(', ')}: every token from this provider would be refused`,
    },
  ];
}

function forwardClaimErrors(provider: JwtProviderSpec, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  (provider.forwardClaims ?? []).forEach((fc, i) => {
    const field = `${at}.forwardClaims[${i}].header`;
    if (isSidecarSetHeader(fc.header)) {
      errors.push({ field, message: `${fc.header} is set by the sidecar itself and cannot carry a claim` });
    }
    const earlier = seen.get(fc.header);
    if (earlier !== undefined) {
      errors.push({ field, message: `${fc.header} already carries forwardClaims[${earlier}]` });
    } else seen.set(fc.header, i);
  });
  return errors;
}

function methodsCover(outer: JwtRuleSpec, inner: JwtRuleSpec): boolean {
  const o = outer.methods ?? [];
  const i = inner.methods ?? [];
  if (o.length === 0) return true;
  return i.length > 0 && i.every((m) => o.includes(m));
}

function shadowingRule(rules: readonly JwtRuleSpec[], j: number, path: string): string | undefined {
  const inner = parsePathPattern(path);
  const rule = rules[j];
  if (!rule) return undefined;
  for (let i = 0; i < j; i++) {
    const earlier = rules[i];
    if (!earlier || !methodsCover(earlier, rule)) continue;
    const hit = earlier.paths.find((p) => patternCovers(parsePathPattern(p), inner));
    if (hit !== undefined) return `spec.jwt.rules[${i}] ("${hit}") matches it first (first match wins)`;
  }
  return undefined;
}

function ruleErrors(rules: readonly JwtRuleSpec[]): FieldError[] {
  const errors: FieldError[] = [];
  rules.forEach((rule, j) => {
    rule.paths.forEach((path, k) => {
      const field = `spec.jwt.rules[${j}].paths[${k}]`;
      const problem = pathPatternProblem(path);
      const shadow = problem === undefined ? shadowingRule(rules, j, path) : undefined;
      if (problem !== undefined) errors.push({ field, message: `"${path}" never matches: ${problem}` });
      if (shadow !== undefined) errors.push({ field, message: `"${path}" is never reached: ${shadow}` });
    });
    (rule.requiredScopes ?? []).forEach((scope, k) => {
      if (!SCOPE_TOKEN.test(scope)) {
        errors.push({
          field: `spec.jwt.rules[${j}].requiredScopes[${k}]`,
          message: `"${scope}" can never be granted: a scope has no spaces, quotes or backslashes (RFC 6749 3.3)`,
        });
      }
    });
  });
  return errors;
}

export async function jwtSemanticErrors(jwt: JwtSpec | undefined, limits: JwksLimits): Promise<FieldError[]> {
  if (!jwt) return [];
  const providerErrors = await Promise.all(
    jwt.providers.map(async (provider, i) => {
      const at = `spec.jwt.providers[${i}]`;
      return [...(await inlineKeyErrors(provider, at, limits)), ...forwardClaimErrors(provider, at)];
    }),
  );
  return [...providerErrors.flat(), ...ruleErrors(jwt.rules ?? [])];
}
