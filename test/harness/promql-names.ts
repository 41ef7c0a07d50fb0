// The metric names a PromQL expression selects, found without a full parser:
// string literals, label matchers, ranges and grouping label lists are
// removed, then every identifier that is not a function call, a keyword or
// part of a number or duration is a metric name. Syntax itself is checked by
// promtool; this only lists names so tests can compare them with what the
// running components export. Pure.
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'atan2',
  'inf',
  'nan',
]);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.$])[a-zA-Z_:][\w:]*/g)) {
    const name = m[0];
    const call = /^\s*\(/.test(stripped.slice(m.index + name.length));
    if (!call && !KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names].sort();
}

/** Grafana's variables replaced so the expression is plain PromQL (`$__rate_interval` -> 5m, `$x` -> .*). */
export function grafanaToPromql(expr: string): string {
  return expr.replace(/\$__(?:rate_)?interval/g, '5m').replace(/\$\{?(\w+)\}?/g, '.*');
}

/** Every name a Prometheus text exposition offers: sample names plus, per # TYPE, its series names. */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}
