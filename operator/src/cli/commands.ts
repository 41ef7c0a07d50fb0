// The `acp` commands as pure functions: parsed arguments and the contents
// of the input files in, what to print and the exit code out. They call
// the same modules as the operator (validation, compilation, compliance),
// never a copy; main.ts only does the reading and writing.
import {
  errorMessage,
  isAcpError,
  semanticErrors,
  validatePolicy,
  validatePolicyWithRules,
  type ApiCompliancePolicy,
  type CrdRuleValidator,
  type FieldError,
} from '@acp/crds';
import { complianceCondition, evaluateCompliance } from '../compliance/evaluate.ts';
import { jwksUriProviders, type JwksInput } from '../policy/compile-jwt.ts';
import { probeSpiffeId } from '../evidence/probe/identity.ts';
import { compileSidecarConfig } from '../policy/compile.ts';
import { POLICY_ERRORS } from '../policy/errors.ts';
import { canonicalJson } from '../policy/hash.ts';
import { stringify } from 'yaml';
import { parseInjectionConfig } from '@acp/webhooks/inject';
import type { CliArgs } from './args.ts';
import { readDocuments, readPolicyDocuments, type InputFile, type PolicyDocument } from './documents.ts';
import { formatComplianceJson, formatComplianceTable, formatInvalid, type CheckedPolicy } from './format.ts';
import { formatInjectReport, injectDocuments } from './inject.ts';

export interface CliContext {
  /** The CRD's CEL rules, compiled from the CRD manifest. */
  rules: CrdRuleValidator;
  /** The text of each --jwks file, by provider name. */
  jwksFiles: Readonly<Record<string, { file: string; text: string }>>;
}

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: 0 | 1 | 2;
}

interface ValidPolicy {
  doc: PolicyDocument;
  policy: ApiCompliancePolicy;
}

interface Loaded {
  valid: ValidPolicy[];
  /** Invalid policies, as printed. */
  invalid: string[];
  /** Documents that could not be read, files with no policy, bad --jwks files. */
  problems: string[];
  notes: string[];
  jwks: Record<string, JwksInput>;
}

/** Schema + CEL rules (what the apiserver checks), then the semantic checks (what the webhook and the operator refuse). */
export async function checkDocument(
  doc: PolicyDocument,
  rules: CrdRuleValidator,
): Promise<{ ok: true; policy: ApiCompliancePolicy } | { ok: false; errors: FieldError[] }> {
  const r = validatePolicyWithRules(doc.value, rules);
  if (r.ok) {
    const errors = await semanticErrors(r.value);
    return errors.length === 0 ? { ok: true, policy: r.value } : { ok: false, errors };
  }
  // A policy that only breaks CEL rules is still well-formed: report what the operator would refuse too.
  const structural = validatePolicy(doc.value);
  return {
    ok: false,
    errors: structural.ok ? [...r.errors, ...(await semanticErrors(structural.value))] : r.errors,
  };
}

function parseJwksFiles(
  ctx: CliContext,
  valid: readonly ValidPolicy[],
  problems: string[],
): Record<string, JwksInput> {
  const known = new Set(valid.flatMap((v) => jwksUriProviders(v.policy.spec.jwt).map((p) => p.name)));
  const out: Record<string, JwksInput> = {};
  for (const [provider, { file, text }] of Object.entries(ctx.jwksFiles)) {
    if (!known.has(provider)) {
      problems.push(`--jwks ${provider}=${file}: no policy has a jwksUri provider named ${provider}`);
      continue;
    }
    try {
      out[provider] = JSON.parse(text) as JwksInput;
    } catch (e) {
      problems.push(`--jwks ${provider}=${file}: not JSON: ${errorMessage(e)}`);
    }
  }
  return out;
}

async function load(args: CliArgs, files: readonly InputFile[], ctx: CliContext): Promise<Loaded> {
  const set = readPolicyDocuments(files, args.namespace ?? 'default');
  const valid: ValidPolicy[] = [];
  const invalid: string[] = [];
  for (const doc of set.policies) {
    const r = await checkDocument(doc, ctx.rules);
    if (r.ok) valid.push({ doc, policy: r.policy });
    else invalid.push(formatInvalid(doc.source, doc.label, r.errors));
  }
  const problems = [...set.errors];
  if (set.policies.length === 0 && set.errors.length === 0) {
    problems.push(`no ApiCompliancePolicy found in ${files.map((f) => f.name).join(', ')}`);
  }
  const jwks = parseJwksFiles(ctx, valid, problems);
  return { valid, invalid, problems, notes: set.skipped.map((s) => `skipped ${s}`), jwks };
}

const lines = (list: readonly string[]): string =>
  list.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join('');

export async function runValidate(
  args: CliArgs,
  files: readonly InputFile[],
  ctx: CliContext,
): Promise<CliResult> {
  const l = await load(args, files, ctx);
  const ok = l.valid.map((v) => `${v.doc.source}: ${v.doc.label} is valid`);
  const failed = l.invalid.length + l.problems.length > 0;
  return {
    stdout: lines([...ok, ...l.invalid]),
    stderr: lines([...l.notes, ...l.problems]),
    exitCode: failed ? 1 : 0,
  };
}

export async function runCompile(
  args: CliArgs,
  files: readonly InputFile[],
  ctx: CliContext,
): Promise<CliResult> {
  const l = await load(args, files, ctx);
  const errors = [...l.invalid, ...l.problems];
  const warnings: string[] = [];
  const configs: unknown[] = [];
  for (const { doc, policy } of l.valid) {
    try {
      configs.push(
        await compileSidecarConfig(policy, {
          trustDomain: args.trustDomain,
          jwks: l.jwks,
          missingJwks: args.allowMissingJwks ? 'empty' : 'error',
          probePeers: probePeersOf(args),
        }),
      );
    } catch (e) {
      errors.push(`${doc.source}: ${doc.label}: ${errorMessage(e)}${hintFor(e)}`);
      continue;
    }
    for (const p of jwksUriProviders(policy.spec.jwt).filter((p) => !(p.name in l.jwks))) {
      warnings.push(
        `warning: ${doc.source}: provider ${p.name} (${p.jwksUri}) compiled with no keys: every token from it is refused`,
      );
    }
  }
  if (errors.length > 0) return { stdout: '', stderr: lines([...l.notes, ...errors]), exitCode: 1 };
  const out = configs.length === 1 ? configs[0] : configs;
  return { stdout: `${canonicalJson(out, 2)}\n`, stderr: lines([...l.notes, ...warnings]), exitCode: 0 };
}

/** The operator's prober, which every config it compiles names (so `acp compile` prints the same config and hash). */
function probePeersOf(args: CliArgs): string[] {
  return [probeSpiffeId(args.trustDomain, args.operatorNamespace)];
}

function hintFor(e: unknown): string {
  if (!isAcpError(e) || e.code !== POLICY_ERRORS.jwksMissing) return '';
  const provider = typeof e.details['provider'] === 'string' ? e.details['provider'] : 'NAME';
  return ` (pass --jwks ${provider}=keys.json, or --allow-missing-jwks to compile it with no keys)`;
}

export async function runCheck(
  args: CliArgs,
  files: readonly InputFile[],
  ctx: CliContext,
): Promise<CliResult> {
  const l = await load(args, files, ctx);
  const errors = [...l.invalid, ...l.problems];
  const checked: CheckedPolicy[] = [];
  for (const { doc, policy } of l.valid) {
    try {
      const config = await compileSidecarConfig(policy, {
        trustDomain: args.trustDomain,
        jwks: l.jwks,
        missingJwks: 'empty',
        probePeers: probePeersOf(args),
      });
      const options = args.profiles.length > 0 ? { profiles: args.profiles } : {};
      const report = evaluateCompliance(config, policy, options);
      checked.push({ source: doc.source, label: doc.label, report, condition: complianceCondition(report) });
    } catch (e) {
      errors.push(`${doc.source}: ${doc.label}: ${errorMessage(e)}`);
    }
  }
  const failing = checked.some((c) => c.report.controls.some((x) => x.status === 'Fail'));
  const stdout =
    args.output === 'json' ? formatComplianceJson(checked) : checked.map(formatComplianceTable).join('\n');
  return {
    stdout,
    stderr: lines([...l.notes, ...errors]),
    exitCode: errors.length > 0 || failing ? 1 : 0,
  };
}

export interface InjectContext {
  /** The --policy files. */
  policyFiles: readonly InputFile[];
  /** The --injection-config file's content (YAML or JSON), parsed; undefined: the chart's defaults. */
  injectionConfig: unknown;
}

/** The documents as YAML (a stream, like kubectl get -o yaml of several objects) or JSON (a v1 List when several). */
export function formatDocuments(documents: readonly unknown[], output: 'yaml' | 'json'): string {
  if (output === 'json') {
    const out = documents.length === 1 ? documents[0] : { apiVersion: 'v1', kind: 'List', items: documents };
    return `${JSON.stringify(out, null, 2)}\n`;
  }
  return documents.map((d) => stringify(d)).join('---\n');
}

export function runInject(args: CliArgs, files: readonly InputFile[], ctx: InjectContext): CliResult {
  let config;
  try {
    config = parseInjectionConfig(ctx.injectionConfig);
  } catch (e) {
    return {
      stdout: '',
      stderr: `--injection-config ${args.injectionConfig ?? ''}: ${errorMessage(e)}\n`,
      exitCode: 1,
    };
  }
  const input = readDocuments(files);
  const context = readDocuments(ctx.policyFiles);
  const r = injectDocuments(input.documents, {
    config,
    namespace: args.namespace ?? 'default',
    operatorNamespace: args.operatorNamespace,
    context: context.documents,
  });
  const errors = [...input.errors, ...context.errors];
  if (r.reports.length === 0 && errors.length === 0) {
    errors.push(
      `no workload (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet) in ${files.map((f) => f.name).join(', ')}`,
    );
  }
  const failed = errors.length > 0 || r.reports.some((x) => x.outcome.kind === 'error');
  return {
    stdout: formatDocuments(r.documents, args.output === 'json' ? 'json' : 'yaml'),
    stderr: lines([...r.notes, ...r.reports.map(formatInjectReport), ...errors]),
    exitCode: failed ? 1 : 0,
  };
}

/** Runs the offline command the arguments name (status reads the cluster: see status.ts). */
export function runCli(args: CliArgs, files: readonly InputFile[], ctx: CliContext): Promise<CliResult> {
  switch (args.command) {
    case 'validate':
      return runValidate(args, files, ctx);
    case 'compile':
      return runCompile(args, files, ctx);
    case 'check':
      return runCheck(args, files, ctx);
    case 'inject':
    case 'status':
    case 'report':
      throw new Error(`${args.command} is not a policy-file command`);
  }
}
