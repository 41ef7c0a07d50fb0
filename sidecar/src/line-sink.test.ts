import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LineSink } from './line-sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'acp-sink-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function sinkFile(o: ConstructorParameters<typeof LineSink>[1] = {}) {
  const path = join(dir, `out-${++n}`);
  const fd = openSync(path, 'w');
  const sink = new LineSink(fd, o);
  return { sink, read: () => readFileSync(path, 'utf8'), close: () => (sink.end(), closeSync(fd)) };
}

describe('LineSink', () => {
  it('holds lines until flushed, then writes them in order', () => {
    const f = sinkFile();
    f.sink.write('a\n');
    f.sink.write('b\n');
    assert.equal(f.read(), '');
    f.sink.flushSync();
    assert.equal(f.read(), 'a\nb\n');
    f.close();
  });
  it('writes the buffer out when the next line would not fit, keeping every line whole and in order', () => {
    const f = sinkFile({ chunkBytes: 64 });
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i} ${'\u00e9'.repeat(i % 7)}\n`);
    for (const l of lines) f.sink.write(l);
    assert.ok(f.read().length > 0, 'full chunks went out before the flush');
    f.sink.flushSync();
    assert.equal(f.read(), lines.join(''));
    f.close();
  });
  it('writes a line larger than the buffer on its own', () => {
    const f = sinkFile({ chunkBytes: 16 });
    f.sink.write('small\n');
    f.sink.write(`${'x'.repeat(100)}\n`);
    f.sink.write('after\n');
    f.sink.flushSync();
    assert.equal(f.read(), `small\n${'x'.repeat(100)}\nafter\n`);
    f.close();
  });
  it('writes what waits at least every flushMs', async () => {
    const f = sinkFile({ flushMs: 20 });
    f.sink.write('later\n');
    for (let i = 0; i < 100 && f.read() === ''; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(f.read(), 'later\n');
    f.close();
  });
  it('reports a broken output once and drops later lines', () => {
    const errors: Error[] = [];
    const fd = openSync(join(dir, 'ro'), 'w');
    closeSync(fd);
    const sink = new LineSink(fd, { onError: (e) => errors.push(e) });
    sink.write('x\n');
    sink.flushSync();
    sink.write('y\n');
    sink.end();
    assert.equal(errors.length, 1);
  });
});
