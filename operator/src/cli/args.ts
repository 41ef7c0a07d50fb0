// Parses the `acp` (or `kubectl acp`) command line into what to do, or a
// usage error (exit code 2) with the message to print. Pure: the argument
// list is a parameter; nothing is read or printed here.
import { parseArgs } from 'node:util';
import {
  CA_SECRET_NAME,
  COMPLIANCE_PROFILES,
  DEFAULT_OPERATOR_NAMESPACE,
  DEFAULT_TRUST_DOMAIN,
  type ComplianceProfile,
} from '@acp/crds';

export type Command = 'validate' | 'compile' | 'check' | 'status' | 'inject' | 'report';
export const COMMANDS: readonly Command[] = ['validate', 'compile', 'check', 'status', 'inject', 'report'];
export type OutputFormat = 'table' | 'json' | 'yaml' | 'markdown' | 'html' | 'oscal';

/** The -o formats each command accepts, the default first. */
const FORMATS: Record<Command, readonly OutputFormat[]> = {
  // validate and compile print one format; -o is accepted (and ignored) as it always was.
  validate: ['table', 'json'],
  compile: ['table', 'json'],
  check: ['table', 'json'],
  status: ['table', 'json'],
  inject: ['yaml', 'json'],
  report: ['json', 'markdown', 'html', 'oscal'],
};

export interface CliArgs {
  command: Command;
  /** -f, repeatable: files, directories (their .yaml/.yml/.json files) or "-" for stdin. */
  files: string[];
  /**
   * -n: the namespace of documents that name none (as kubectl apply -n would; validate, compile,
   * check and inject default to "default"), or the namespace `status` shows (default: the
   * kubeconfig context's).
   */
  namespace: string | undefined;
  /** status -A: every namespace. */
  allNamespaces: boolean;
  /** status --kubeconfig (default $KUBECONFIG, in-cluster, ~/.kube/config). */
  kubeconfig: string | undefined;
  /** status: where the operator keeps the CA Secret; inject: never injected. */
  operatorNamespace: string;
  /** status --ca-secret: the CA Secret there (the operator's --ca-secret, default acp-ca). */
  caSecret: string;
  /** inject --policy, repeatable: files with the ApiCompliancePolicies (and Namespaces) to decide with. */
  policyFiles: string[];
  /** inject --injection-config: the chart's injection.json (default: the chart's defaults). */
  injectionConfig: string | undefined;
  trustDomain: string;
  /** --jwks provider=file.json, repeatable: keys of jwksUri providers. */
  jwks: { provider: string; file: string }[];
  /** compile: embed no keys for jwksUri providers without --jwks instead of failing. */
  allowMissingJwks: boolean;
  /** check: --profile, repeatable: evaluate these instead of spec.profiles. */
  profiles: ComplianceProfile[];
  output: OutputFormat;
  /** report --out-dir: write every format there instead of one to stdout. */
  outDir: string | undefined;
}

export type ParsedArgs = { ok: true; args: CliArgs } | { ok: false; help: boolean; message: string };

export const USAGE = `Usage: acp <command> [options]
       kubectl acp <command> [options]   (installed as kubectl-acp on PATH)

Validates, compiles and checks ApiCompliancePolicy files offline, shows what the
injection webhook would do to a workload (offline), and the policies of a cluster.

Commands:
  validate   -f FILE  the CRD schema, the CRD's CEL rules and the semantic checks the operator applies
  compile    -f FILE  print the sidecar configuration (JSON) the operator would write
  check      -f FILE  evaluate the compliance profiles (spec.profiles, or --profile)
  inject     -f FILE  print the workloads (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob,
                      ReplicaSet) as the webhook would inject them, offline; skip reasons on stderr
  status              the cluster's policies: Ready/Compliant, mode, workloads, next certificate
                      renewal, CA expiry (reads the cluster)
  report [-f FILE]    the measured compliance evidence per profile, control and workload: result,
                      evidence, timestamps (reads the cluster, or offline the output of
                      kubectl get acp -o yaml); -o json, markdown, html or oscal (OSCAL 1.2.3
                      assessment-results), or --out-dir DIR for all four

Options:
  -f, --file FILE            a policy (inject: workload) file, a directory of them, or - for stdin
                             (repeatable; multi-document YAML is read document by document)
  -n, --namespace NS         namespace of documents that name none (default: default);
                             status: the namespace to show (default: the kubeconfig context's)
  -A, --all-namespaces       status, report: every namespace
      --kubeconfig FILE      status, report: the kubeconfig (default: $KUBECONFIG, in-cluster,
                             ~/.kube/config)
      --out-dir DIR          report: write report.json, report.md, report.html and
                             assessment-results.oscal.json there
      --operator-namespace NS
                             the operator's namespace (default: ${DEFAULT_OPERATOR_NAMESPACE}): status reads
                             the CA Secret there; inject never injects there; compile and check
                             name the operator's prober there (mtls.probePeers), as the operator does
      --ca-secret NAME       status: the CA Secret (default: ${CA_SECRET_NAME}; the operator's --ca-secret
                             when it uses your CA)
      --policy FILE          inject: ApiCompliancePolicies to decide with (repeatable; Namespace
                             documents give their labels); without any, as if a policy selected every pod
      --injection-config FILE
                             inject: the sidecar settings (the chart's injection.json; default:
                             the chart's defaults)
      --trust-domain TD      SPIFFE trust domain (default: ${DEFAULT_TRUST_DOMAIN})
      --jwks NAME=FILE       keys (a JWKS JSON file) for the jwksUri provider NAME (repeatable)
      --allow-missing-jwks   compile: embed no keys for a jwksUri provider without --jwks
                             (every token from it is then refused)
      --profile PROFILE      check: evaluate this profile (repeatable): ${COMPLIANCE_PROFILES.join(', ')}
  -o, --output FORMAT        check, status: table or json (default: table); inject: yaml or json
                             (default: yaml); report: json, markdown, html or oscal (default: json)
  -h, --help                 show this help

Exit codes: 0 valid / compliant, 1 invalid policy, compile error, failing control, unreadable
document or cluster error, 2 usage error.
`;

const OPTIONS = {
  file: { type: 'string', short: 'f', multiple: true },
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  kubeconfig: { type: 'string' },
  'operator-namespace': { type: 'string' },
  'ca-secret': { type: 'string' },
  policy: { type: 'string', multiple: true },
  'injection-config': { type: 'string' },
  'trust-domain': { type: 'string' },
  jwks: { type: 'string', multiple: true },
  'allow-missing-jwks': { type: 'boolean' },
  profile: { type: 'string', multiple: true },
  output: { type: 'string', short: 'o' },
  'out-dir': { type: 'string' },
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

type Values = ReturnType<
  typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; strict: true }>
>['values'];

/** Options given to a command that does not take them, -A with -n, an -o the command does not print. */
function checkCommandOptions(cmd: Command, values: Values): string | undefined {
  const only = (flag: string, given: boolean, commands: readonly Command[]): string | undefined =>
    given && !commands.includes(cmd)
      ? `${flag} is an option of ${commands.join(', ')}, not ${cmd}`
      : undefined;
  const misplaced =
    only('-A', values['all-namespaces'] === true, ['status', 'report']) ??
    only('--kubeconfig', values.kubeconfig !== undefined, ['status', 'report']) ??
    only('--out-dir', values['out-dir'] !== undefined, ['report']) ??
    only('--ca-secret', values['ca-secret'] !== undefined, ['status']) ??
    only('--operator-namespace', values['operator-namespace'] !== undefined, [
      'compile',
      'check',
      'status',
      'inject',
    ]) ??
    only('--policy', values.policy !== undefined, ['inject']) ??
    only('--injection-config', values['injection-config'] !== undefined, ['inject']);
  if (misplaced) return misplaced;
  if (values['all-namespaces'] && values.namespace !== undefined) return '-A and -n exclude each other';
  const formats = FORMATS[cmd];
  if (values.output !== undefined && !(formats as readonly string[]).includes(values.output)) {
    return `-o ${values.output}: ${cmd} prints ${formats.join(' or ')}`;
  }
  return undefined;
}

function toArgs(
  cmd: Command,
  files: string[],
  values: Values,
  jwks: CliArgs['jwks'],
  profiles: ComplianceProfile[],
): CliArgs {
  return {
    command: cmd,
    files,
    namespace: values.namespace,
    allNamespaces: values['all-namespaces'] ?? false,
    kubeconfig: values.kubeconfig,
    operatorNamespace: values['operator-namespace'] ?? DEFAULT_OPERATOR_NAMESPACE,
    caSecret: values['ca-secret'] ?? CA_SECRET_NAME,
    policyFiles: values.policy ?? [],
    injectionConfig: values['injection-config'],
    trustDomain: values['trust-domain'] ?? DEFAULT_TRUST_DOMAIN,
    jwks,
    allowMissingJwks: values['allow-missing-jwks'] ?? false,
    profiles,
    output: (values.output ?? FORMATS[cmd][0] ?? 'table') as OutputFormat,
    outDir: values['out-dir'],
  };
}

/** -f where the command reads the cluster, none where it reads files. */
function checkFiles(cmd: Command, files: readonly string[], values: Values): string | undefined {
  if (cmd === 'status' && files.length > 0) return 'status reads the cluster: it takes no -f';
  if (cmd !== 'status' && cmd !== 'report' && files.length === 0) return `${cmd} needs at least one -f FILE`;
  if (cmd === 'report' && files.length > 0 && (values['all-namespaces'] || values.kubeconfig !== undefined))
    return 'report -f reads files: -A and --kubeconfig are for the cluster';
  return undefined;
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
  const cmd = command as Command;
  const files = values.file ?? [];
  const misplaced = checkFiles(cmd, files, values) ?? checkCommandOptions(cmd, values);
  if (misplaced) return usage(misplaced);
  const jwks = parseJwks(values.jwks ?? []);
  if (typeof jwks === 'string') return usage(jwks);
  const profiles = parseProfiles(values.profile ?? []);
  if (typeof profiles === 'string') return usage(profiles);
  return { ok: true, args: toArgs(cmd, files, values, jwks, profiles) };
}
