import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exposedNames, grafanaToPromql, metricNames } from './promql-names.ts';

describe('metricNames', () => {
  const cases: [string, string, string[]][] = [
    ['finds a bare selector', 'acp_sidecar_ready', ['acp_sidecar_ready']],
    ['ignores label names and values', 'x_total{reason=~"ACP_ERR_.+", decision="deny"}', ['x_total']],
    ['ignores functions, ranges and durations', 'rate(a_total[5m] offset 1h) * 2', ['a_total']],
    [
      'ignores grouping labels of by/on/group_left',
      'sum by (le, webhook) (rate(b_bucket[5m])) / on (instance) group_left (pod) c',
      ['b_bucket', 'c'],
    ],
    [
      'ignores keywords and numbers',
      '(a == 1) and on (instance) (b > 1e3) unless c or vector(0)',
      ['a', 'b', 'c'],
    ],
    ['finds both sides of an arithmetic expression', 'a_seconds - time() < 60 * 86400', ['a_seconds']],
    ['reads a recording-rule-style name with colons', 'job:x:rate5m', ['job:x:rate5m']],
  ];
  for (const [name, expr, want] of cases) it(name, () => assert.deepEqual(metricNames(expr), want));
});

describe('grafanaToPromql', () => {
  it('replaces the interval and the variables', () =>
    assert.equal(
      grafanaToPromql('rate(a{ns="$namespace", w=~"${workload}"}[$__rate_interval])'),
      'rate(a{ns=".*", w=~".*"}[5m])',
    ));
});

describe('exposedNames', () => {
  it('lists samples and the series of histograms declared by # TYPE', () => {
    const names = exposedNames(
      ['# TYPE h_seconds histogram', '# TYPE c_total counter', 'g 1', 'c_total{a="b"} 2', ''].join('\n'),
    );
    assert.deepEqual([...names].sort(), [
      'c_total',
      'g',
      'h_seconds',
      'h_seconds_bucket',
      'h_seconds_count',
      'h_seconds_sum',
    ]);
  });
});
