#!/usr/bin/env node
// The `acp` CLI's shell: reads the files the arguments name (policies,
// --jwks key sets, the CRD manifest whose CEL rules it evaluates), runs the
// pure command (commands.ts), writes stdout/stderr and sets the exit code:
// 0 valid/compliant, 1 invalid policy, compile error or failing control,
// 2 usage error (bad arguments, unreadable file).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compileCrdRules, crdOpenApiSchema, CRD_MANIFEST_URL, errorMessage } from '@acp/crds';
import { parseCliArgs, type CliArgs } from './args.ts';
import { runCli, type CliContext } from './commands.ts';
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
  let files: InputFile[];
  let jwksFiles: CliContext['jwksFiles'];
  try {
    files = readInputs(parsed.args.files);
    jwksFiles = readJwksFiles(parsed.args);
  } catch (e) {
    process.stderr.write(`acp: ${errorMessage(e)}\n`);
    return 2;
  }
  const rules = compileCrdRules(crdOpenApiSchema(readFileSync(CRD_MANIFEST_URL, 'utf8')));
  const result = await runCli(parsed.args, files, { rules, jwksFiles });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  return result.exitCode;
}

process.exitCode = await main(process.argv.slice(2));
