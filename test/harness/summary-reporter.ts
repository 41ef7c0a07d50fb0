// A node:test reporter that counts top-level and nested test outcomes and
// writes them as JSON to the destination file, so the test orchestrator can
// print one summary line and fail a CI run that skipped tests.
import type { TestEvent } from 'node:test/reporters';

export default async function* summaryReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const counts = { tests: 0, passed: 0, failed: 0, skipped: 0, todo: 0, skippedNames: [] as string[] };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data as { name: string; skip?: unknown; todo?: unknown; details: { type?: string } };
    if (data.details.type === 'suite') continue;
    counts.tests++;
    if (data.skip !== undefined && data.skip !== false) {
      counts.skipped++;
      counts.skippedNames.push(data.name);
    } else if (data.todo !== undefined && data.todo !== false) counts.todo++;
    else if (event.type === 'test:pass') counts.passed++;
    else counts.failed++;
  }
  yield JSON.stringify(counts);
}
