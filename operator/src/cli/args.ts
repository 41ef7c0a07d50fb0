// Parses the `acp` command line into what to do, or a usage error (exit
// code 2) with the message to print. Pure: the argument list is a
// parameter; nothing is read or printed here.
import { parseArgs } from 'node:util';
import { COMPLIANCE_PROFILES, DEFAULT_TRUST_DOMAIN, type ComplianceProfile } from '@acp/crds';

export type Command = 'validate' | 'compile' | 'check';
export const COMMANDS: readonly Command[] = ['validate', 'compile', 'check'];

export interface CliArgs {
  command: Command;
  /** -f, repeatable: files, directories (their .yaml/.yml/.json files) or "-" for stdin. */
  files: string[];
  /** -n: the namespace of policies that name none (as kubectl apply -n would). */
  namespace: string;
  trustDomain: string;
  /** --jwks provider=file.json, repeatable: keys of jwksUri providers. */
  jwks: { provider: string; file: string }[];
  /** compile: embed no keys for jwksUri providers without --jwks instead of failing. */
  allowMissingJwks: boolean;
  /** check: --profile, repeatable: evaluate these instead of spec.profiles. */
  profiles: ComplianceProfile[];
  output: 'table' | 'json';
}

export type ParsedArgs = { ok: true; args: CliArgs } | { ok: false; help: boolean; message: string };

export const USAGE = `Usage: acp <command> -f FILE [options]

Validates, compiles and checks ApiCompliancePolicy files offline (no cluster needed).

Commands:
  validate   the CRD schema, the CRD's CEL rules and the semantic checks the operator applies
  compile    print the sidecar configuration (JSON) the operator would write
  check      evaluate the compliance profiles (spec.profiles, or --profile)

Options:
  -f, --file FILE            a policy file, a directory of them, or - for stdin (repeatable;
                             multi-document YAML is read document by document)
  -n, --namespace NS         namespace of policies that name none (default: default)
      --trust-domain TD      SPIFFE trust domain (default: ${DEFAULT_TRUST_DOMAIN})
      --jwks NAME=FILE       keys (a JWKS JSON file) for the jwksUri provider NAME (repeatable)
      --allow-missing-jwks   compile: embed no keys for a jwksUri provider without --jwks
                             (every token from it is then refused)
      --profile PROFILE      check: evaluate this profile (repeatable): ${COMPLIANCE_PROFILES.join(', ')}
  -o, --output table|json    check: output format (default: table)
  -h, --help                 show this help

Exit codes: 0 valid / compliant, 1 invalid policy, compile error or failing control, 2 usage error.
`;

const OPTIONS = {
  file: { type: 'string', short: 'f', multiple: true },
  namespace: { type: 'string', short: 'n' },
  'trust-domain': { type: 'string' },
  jwks: { type: 'string', multiple: true },
  'allow-missing-jwks': { type: 'boolean' },
  profile: { type: 'string', multiple: true },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

const usage = (message: string): ParsedArgs => ({ ok: false, help: false, message });

function parseJwks(values: readonly string[]): { provider: string; file: string }[] | string {
  const out: { provider: string; file: string }[] = [];
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) return `--jwks ${v}: expected PROVIDER=FILE`;
    out.push({ provider: v.slice(0, eq), file: v.slice(eq + 1) });
  }
  return out;
}

function parseProfiles(values: readonly string[]): ComplianceProfile[] | string {
  const bad = values.filter((v) => !(COMPLIANCE_PROFILES as readonly string[]).includes(v));
  if (bad.length > 0) return `--profile ${bad.join(', ')}: expected one of ${COMPLIANCE_PROFILES.join(', ')}`;
  return values as ComplianceProfile[];
}

/** Parses process.argv.slice(2). */
export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    return usage(e instanceof Error ? e.message : String(e));
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (values.help || command === 'help') return { ok: false, help: true, message: USAGE };
  if (command === undefined) return usage('no command given');
  if (!(COMMANDS as readonly string[]).includes(command)) return usage(`unknown command "${command}"`);
  if (extra.length > 0) return usage(`unexpected argument "${extra.join(' ')}" (files are given with -f)`);
  const files = values.file ?? [];
  if (files.length === 0) return usage(`${command} needs at least one -f FILE`);
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') return usage(`-o ${output}: expected table or json`);
  const jwks = parseJwks(values.jwks ?? []);
  if (typeof jwks === 'string') return usage(jwks);
  const profiles = parseProfiles(values.profile ?? []);
  if (typeof profiles === 'string') return usage(profiles);
  return {
    ok: true,
    args: {
      command: command as Command,
      files,
      namespace: values.namespace ?? 'default',
      trustDomain: values['trust-domain'] ?? DEFAULT_TRUST_DOMAIN,
      jwks,
      allowMissingJwks: values['allow-missing-jwks'] ?? false,
      profiles,
      output,
    },
  };
}
