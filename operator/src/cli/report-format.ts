// `acp report` for people: Markdown and HTML, from the same rows. Per
// policy: the Verified condition and when; per profile: measured and
// declared; per control: measured, declared, last verified, the evidence;
// per control and workload: the result, when it was probed, the evidence.
// Pure.
import type { ControlRow, EvidenceReportDocument, PolicyReport } from './report.ts';

const mdCell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function verifiedLine(p: PolicyReport): string {
  const v = p.verified;
  return v
    ? `Verified: **${v.status}** (${v.reason}) since ${v.lastTransitionTime}; last verified ${p.lastVerified || 'never'}. ${v.message}`
    : 'Verified: not reported (an operator without the prober, or no round yet).';
}

function mdControl(c: ControlRow): string[] {
  return [
    `#### ${c.profile} ${c.id}: ${c.title}`,
    '',
    `Measured **${c.measured}** (last verified ${c.lastVerified || 'never'}): ${mdCell(c.evidence)}`,
    '',
    `Declared ${c.declared}: ${mdCell(c.declaredMessage)}`,
    '',
    '| Workload | Service account | Result | Probed at | Evidence |',
    '| --- | --- | --- | --- | --- |',
    ...c.workloads.map(
      (w) =>
        `| ${mdCell(w.workload)} | ${mdCell(w.serviceAccount)} | ${w.result} | ${w.lastVerified} | ${mdCell(w.evidence)} |`,
    ),
    '',
  ];
}

export function formatReportMarkdown(r: EvidenceReportDocument): string {
  const out = [
    '# API compliance evidence report',
    '',
    `Generated ${r.generatedAt} from ${r.source}. Measured: what the operator's prober observed on each`,
    'running sidecar; declared: what the policy as written satisfies. Unknown: the probe could not measure.',
    '',
  ];
  for (const p of r.policies) {
    out.push(`## ${p.namespace}/${p.name} (generation ${p.generation})`, '', verifiedLine(p), '');
    if (p.truncatedPods > 0) out.push(`${p.truncatedPods} more probed pods are counted but not listed.`, '');
    for (const f of p.profiles) {
      out.push(`### ${f.name}: measured ${f.measured}, declared ${f.declared}`, '');
      out.push(
        '| Control | Title | Measured | Declared | Last verified |',
        '| --- | --- | --- | --- | --- |',
      );
      for (const c of f.controls)
        out.push(`| ${c.id} | ${mdCell(c.title)} | ${c.measured} | ${c.declared} | ${c.lastVerified} |`);
      out.push('');
      for (const c of f.controls) out.push(...mdControl(c));
    }
  }
  return `${out.join('\n')}\n`;
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const row = (cells: readonly string[], tag = 'td'): string =>
  `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join('')}</tr>`;

const table = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
  `<table>${row(head, 'th')}${rows.map((r) => row(r)).join('')}</table>`;

export function formatReportHtml(r: EvidenceReportDocument): string {
  const body: string[] = [
    '<h1>API compliance evidence report</h1>',
    `<p>Generated ${esc(r.generatedAt)} from ${esc(r.source)}. Measured: what the operator's prober observed on each running sidecar; declared: what the policy as written satisfies. Unknown: the probe could not measure.</p>`,
  ];
  for (const p of r.policies) {
    body.push(`<h2>${esc(`${p.namespace}/${p.name}`)} (generation ${p.generation})</h2>`);
    body.push(`<p>${esc(verifiedLine(p).replace(/\*\*/g, ''))}</p>`);
    for (const f of p.profiles) {
      body.push(`<h3>${esc(`${f.name}: measured ${f.measured}, declared ${f.declared}`)}</h3>`);
      for (const c of f.controls) {
        body.push(`<h4>${esc(`${c.profile} ${c.id}: ${c.title}`)}</h4>`);
        body.push(
          `<p class="${c.measured}">${esc(`Measured ${c.measured} (last verified ${c.lastVerified || 'never'}): ${c.evidence}`)}</p>`,
        );
        body.push(`<p>${esc(`Declared ${c.declared}: ${c.declaredMessage}`)}</p>`);
        body.push(
          table(
            ['Workload', 'Service account', 'Result', 'Probed at', 'Evidence'],
            c.workloads.map((w) => [w.workload, w.serviceAccount, w.result, w.lastVerified, w.evidence]),
          ),
        );
      }
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>API compliance evidence report</title>
<style>body{font-family:sans-serif;max-width:80em;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .4em;vertical-align:top}.Fail{color:#a00}.Unknown{color:#a60}.Pass{color:#060}</style>
</head><body>
${body.join('\n')}
</body></html>
`;
}
