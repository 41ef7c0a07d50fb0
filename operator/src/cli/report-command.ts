// `acp report`, pure: policies (from the cluster or from files: what
// `kubectl get acp -o yaml` prints, a List or single documents) in, the
// report out in one format (-o json|markdown|html|oscal) or all four as
// files (--out-dir: report.json, report.md, report.html,
// assessment-results.oscal.json). Exit 1 when a control is measured
// failing or there is no policy to report; 0 otherwise.
import type { ApiCompliancePolicy } from '@acp/crds';
import type { CliResult } from './commands.ts';
import { isPolicyDocument, isRecord, readDocuments, type InputFile } from './documents.ts';
import { formatReportOscal } from './oscal.ts';
import { formatReportHtml, formatReportMarkdown } from './report-format.ts';
import { anyFailing, buildReport, type EvidenceReportDocument } from './report.ts';

export type ReportFormat = 'json' | 'markdown' | 'html' | 'oscal';
export const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'markdown', 'html', 'oscal'];

export const REPORT_FILES: Record<ReportFormat, string> = {
  json: 'report.json',
  markdown: 'report.md',
  html: 'report.html',
  oscal: 'assessment-results.oscal.json',
};

export function renderReport(r: EvidenceReportDocument, format: ReportFormat): string {
  if (format === 'markdown') return formatReportMarkdown(r);
  if (format === 'html') return formatReportHtml(r);
  if (format === 'oscal') return formatReportOscal(r);
  return `${JSON.stringify(r, null, 2)}\n`;
}

/** The policies in the files: single documents, and the items of a List (`kubectl get acp -o yaml`). */
export function policiesFromFiles(files: readonly InputFile[]): {
  policies: ApiCompliancePolicy[];
  errors: string[];
} {
  const { documents, errors } = readDocuments(files);
  const policies: ApiCompliancePolicy[] = [];
  for (const { value } of documents) {
    const items = value['kind'] === 'List' && Array.isArray(value['items']) ? value['items'] : [value];
    for (const item of items)
      // Through JSON: an unquoted timestamp that YAML 1.1 read as a Date becomes its RFC 3339 text again.
      if (isRecord(item) && isPolicyDocument(item))
        policies.push(JSON.parse(JSON.stringify(item)) as ApiCompliancePolicy);
  }
  return { policies, errors };
}

export interface ReportOutput {
  /** Files to write (--out-dir), by name. */
  files: Record<string, string>;
  result: CliResult;
}

export function runReport(
  policies: readonly ApiCompliancePolicy[],
  opts: { format: ReportFormat; outDir: string | undefined; now: Date; source: string },
): ReportOutput {
  if (policies.length === 0)
    return {
      files: {},
      result: { stdout: '', stderr: `acp: no ApiCompliancePolicy in ${opts.source}\n`, exitCode: 1 },
    };
  const r = buildReport(policies, opts.now.toISOString(), opts.source);
  const exitCode = anyFailing(r) ? 1 : 0;
  if (!opts.outDir)
    return { files: {}, result: { stdout: renderReport(r, opts.format), stderr: '', exitCode } };
  const files = Object.fromEntries(REPORT_FORMATS.map((f) => [REPORT_FILES[f], renderReport(r, f)]));
  return {
    files,
    result: {
      stdout: Object.keys(files)
        .map((f) => `wrote ${opts.outDir}/${f}\n`)
        .join(''),
      stderr: '',
      exitCode,
    },
  };
}
