// Output of the `acp` CLI: text for people (validation results, field
// errors, the compliance table) and JSON for machines. Pure: strings in,
// strings out.
import type { ConditionInput, FieldError } from '@acp/crds';
import type { ComplianceReport } from '../compliance/types.ts';

/** Columns padded to their widest cell, two spaces apart, no trailing spaces. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatFieldErrorLines(errors: readonly FieldError[]): string {
  return errors.map((e) => `  ${e.field ? `${e.field}: ` : ''}${e.message}`).join('\n');
}

export function formatInvalid(source: string, label: string, errors: readonly FieldError[]): string {
  return `${source}: ${label} is invalid:\n${formatFieldErrorLines(errors)}\n`;
}

export interface CheckedPolicy {
  source: string;
  label: string;
  report: ComplianceReport;
  condition: ConditionInput;
}

/** One policy's compliance report as a table: a row per control, its evidence indented below. */
export function formatComplianceTable(p: CheckedPolicy): string {
  const head = `${p.source}: ${p.label}: ${p.condition.status === 'True' ? 'Compliant' : 'Not compliant'} (${p.condition.message})`;
  if (p.report.controls.length === 0) return `${head}\n`;
  const summary = formatTable([
    ['PROFILE', 'STATUS', 'PASSED', 'FAILED'],
    ...p.report.profiles.map((s) => [s.name, s.status, String(s.passed), String(s.failed)]),
  ]);
  const controls = formatTable([
    ['PROFILE', 'CONTROL', 'STATUS', 'TITLE'],
    ...p.report.controls.map((c) => [c.profile, c.id, c.status, c.title]),
  ]).split('\n');
  const [header = '', ...rows] = controls;
  const withEvidence = rows.flatMap((row, i) => [row, `    ${p.report.controls[i]?.message ?? ''}`]);
  return `${head}\n\n${summary}\n\n${[header, ...withEvidence].join('\n')}\n`;
}

/** The check report as JSON: per policy, status.compliance and the Compliant condition. */
export function formatComplianceJson(policies: readonly CheckedPolicy[]): string {
  const out = policies.map((p) => ({
    source: p.source,
    policy: p.label,
    compliance: p.report,
    condition: {
      type: p.condition.type,
      status: p.condition.status,
      reason: p.condition.reason,
      message: p.condition.message,
    },
  }));
  return `${JSON.stringify({ policies: out }, null, 2)}\n`;
}
