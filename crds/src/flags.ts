// Command-line flags of the three processes (operator, webhook, sidecar)
// with one grammar: node:util parseArgs, long flags only, `--flag value`
// or `--flag=value`, booleans take no value, a flag given twice is refused
// unless it is repeatable, and durations are Go durations (units.ts: the
// grammar of the CRD's duration fields: 90s, 10m, 720h, 1h30m; no days).
// Every problem is an AcpError with the caller's code whose message names
// the flag (`--port: ...`), followed by the usage text when one is given.
// Pure.
import { parseArgs } from 'node:util';
import { AcpError } from './errors.ts';
import { parseDurationMs } from './units.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** May be given more than once (values are collected in order). */
  repeatable?: boolean;
}

export interface FlagContext {
  /** The AcpError code of every problem (ACP_ERR_USAGE, ACP_ERR_CONFIG). */
  code: string;
  /** Printed after the message. */
  usage?: string;
}

export interface Flags {
  /** The value of a string flag, undefined when not given. */
  one(name: string): string | undefined;
  /** Every value of a repeatable string flag, in order. */
  many(name: string): string[];
  /** Whether a boolean flag was given. */
  on(name: string): boolean;
}

/** An AcpError naming the flag: `--name: message`. */
export function flagError(ctx: FlagContext, name: string, message: string): AcpError {
  return new AcpError(ctx.code, `--${name}: ${message}${ctx.usage ? `\n${ctx.usage}` : ''}`, { flag: name });
}

function usageError(ctx: FlagContext, message: string): AcpError {
  return new AcpError(ctx.code, `${message}${ctx.usage ? `\n${ctx.usage}` : ''}`);
}

/** Turns parseArgs' errors into ours, naming the flag. */
function translate(e: unknown, ctx: FlagContext): AcpError {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  const given = /'(--?[^' =<]+)/.exec(message)?.[1] ?? '';
  const flag = given.replace(/^-+/, '');
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return usageError(ctx, `unknown flag ${given}`);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return usageError(ctx, `unexpected argument "${/'([^']*)'/.exec(message)?.[1] ?? ''}"`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return flagError(ctx, flag, /does not take/.test(message) ? 'takes no value' : 'needs a value');
  }
  return usageError(ctx, message);
}

/** Parses argv (process.argv.slice(2)) against the flags of `spec`. */
export function parseFlags(
  argv: readonly string[],
  spec: Readonly<Record<string, FlagSpec>>,
  ctx: FlagContext,
): Flags {
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, s]) => [name, { type: s.type, multiple: true }]),
  );
  let values: Record<string, (string | boolean)[] | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<
      string,
      (string | boolean)[] | undefined
    >;
  } catch (e) {
    throw translate(e, ctx);
  }
  for (const [name, given] of Object.entries(values)) {
    if ((given?.length ?? 0) > 1 && !spec[name]?.repeatable) throw flagError(ctx, name, 'given twice');
  }
  const strings = (name: string): string[] =>
    (values[name] ?? []).filter((v): v is string => typeof v === 'string');
  return {
    one: (name) => strings(name)[0],
    many: strings,
    on: (name) => (values[name] ?? []).includes(true),
  };
}

/** A duration flag in milliseconds; refuses what is not a Go duration, naming the flag. */
export function durationFlag(ctx: FlagContext, name: string, value: string): number {
  try {
    return parseDurationMs(value);
  } catch {
    const days = /^(\d+)d$/.exec(value)?.[1];
    const hint = days === undefined ? '' : ` (days are not a unit: ${value} is ${Number(days) * 24}h)`;
    throw flagError(
      ctx,
      name,
      `"${value}" is not a duration: a number and a unit (ns, us, ms, s, m, h), like 90s, 10m, 720h or 1h30m${hint}`,
    );
  }
}
