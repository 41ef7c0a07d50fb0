#!/usr/bin/env node
// The `acp` CLI's shell (also installed as `kubectl-acp`, so `kubectl acp`
// runs it): reads the files the arguments name (policies, workloads,
// --jwks key sets, --policy and --injection-config files, the CRD manifest
// whose CEL rules it evaluates), runs the pure command (commands.ts) or the
// cluster read of `status` (status-io.ts) or `report` (report-io.ts), writes stdout/stderr and sets
// the exit code: 0 valid/compliant, 1 invalid policy, compile error,
// failing control or cluster error, 2 usage error (bad arguments,
// unreadable file).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { compileCrdRules, crdOpenApiSchema, CRD_MANIFEST_URL, errorMessage } from '@acp/crds';
import { parseCliArgs, type CliArgs } from './args.ts';
import { runCli, runInject, type CliContext, type CliResult, type InjectContext } from './commands.ts';
import { runReportCommand } from './report-io.ts';
import { runStatus } from './status-io.ts';
import type { InputFile } from './documents.ts';

const POLICY_FILE = /\.(ya?ml|json)$/;

function readInputs(paths: readonly string[]): InputFile[] {
  return paths.flatMap((path): InputFile[] => {
    if (path === '-') return [{ name: '-', text: readFileSync(0, 'utf8') }];
    if (statSync(path).isDirectory()) {
      return readdirSync(path)
        .filter((f) => POLICY_FILE.test(f))
        .sort()
        .map((f) => ({ name: join(path, f), text: readFileSync(join(path, f), 'utf8') }));
    }
    return [{ name: path, text: readFileSync(path, 'utf8') }];
  });
}

function readJwksFiles(args: CliArgs): CliContext['jwksFiles'] {
  return Object.fromEntries(
    args.jwks.map(({ provider, file }) => [provider, { file, text: readFileSync(file, 'utf8') }]),
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCliArgs(argv);
  if (!parsed.ok) {
    if (parsed.help) {
      process.stdout.write(parsed.message);
      return 0;
    }
    process.stderr.write(`acp: ${parsed.message}\n\nRun acp --help for usage.\n`);
    return 2;
  }
  const result = await run(parsed.args);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  return result.exitCode;
}

const usageError = (e: unknown): CliResult => ({
  stdout: '',
  stderr: `acp: ${errorMessage(e)}\n`,
  exitCode: 2,
});

async function run(args: CliArgs): Promise<CliResult> {
  let files: InputFile[];
  if (args.command === 'status') return runStatus(args, process.env);
  if (args.command === 'report') {
    try {
      files = readInputs(args.files);
    } catch (e) {
      return usageError(e);
    }
    return runReportCommand(args, files, process.env);
  }
  if (args.command === 'inject') {
    let ctx: InjectContext;
    try {
      files = readInputs(args.files);
      ctx = {
        policyFiles: readInputs(args.policyFiles),
        injectionConfig: args.injectionConfig
          ? (parse(readFileSync(args.injectionConfig, 'utf8')) as unknown)
          : undefined,
      };
    } catch (e) {
      return usageError(e);
    }
    return runInject(args, files, ctx);
  }
  let jwksFiles: CliContext['jwksFiles'];
  try {
    files = readInputs(args.files);
    jwksFiles = readJwksFiles(args);
  } catch (e) {
    return usageError(e);
  }
  const rules = compileCrdRules(crdOpenApiSchema(readFileSync(CRD_MANIFEST_URL, 'utf8')));
  return runCli(args, files, { rules, jwksFiles });
}

process.exitCode = await main(process.argv.slice(2));
