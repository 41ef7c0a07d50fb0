import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tar, type TarEntry } from './tar.ts';

function headers(
  archive: Buffer,
): { name: string; type: string; mode: number; uid: number; mtime: number; size: number }[] {
  const out = [];
  for (let off = 0; off + 512 <= archive.length;) {
    const h = archive.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const field = (start: number, len: number): string =>
      h.toString('utf8', start, start + len).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12), 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
    assert.equal(parseInt(field(148, 8), 8), sum, `checksum of ${field(0, 100)}`);
    out.push({
      name: field(0, 100),
      type: field(156, 1),
      mode: parseInt(field(100, 8), 8),
      uid: parseInt(field(108, 8), 8),
      mtime: parseInt(field(136, 12), 8),
      size,
    });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

const file = (path: string, data = 'x', mode = 0o644): TarEntry => ({
  type: 'file',
  path,
  mode,
  data: Buffer.from(data),
});

describe('the deterministic tar writer', () => {
  const cases: { name: string; entries: TarEntry[]; expect: (h: ReturnType<typeof headers>) => void }[] = [
    {
      name: 'writes every entry with owner 0 and mtime 0, whatever the file system says',
      entries: [{ type: 'dir', path: 'etc', mode: 0o755 }, file('etc/passwd')],
      expect: (h) =>
        assert.deepEqual(
          h.map((e) => [e.name, e.uid, e.mtime]),
          [
            ['etc/', 0, 0],
            ['etc/passwd', 0, 0],
          ],
        ),
    },
    {
      name: 'keeps the sticky bit of a directory such as /tmp',
      entries: [{ type: 'dir', path: 'tmp', mode: 0o1777 }],
      expect: (h) => assert.equal(h[0]?.mode, 0o1777),
    },
    {
      name: 'puts a path longer than 100 bytes in a PAX record before the entry',
      entries: [file(`app/${'d/'.repeat(60)}f.js`)],
      expect: (h) =>
        assert.deepEqual(
          h.map((e) => e.type),
          ['x', '0'],
        ),
    },
    {
      name: 'writes a symlink with its target and no data',
      entries: [{ type: 'symlink', path: 'lib64', target: 'lib' }],
      expect: (h) => assert.deepEqual([h[0]?.type, h[0]?.size], ['2', 0]),
    },
  ];
  for (const c of cases) it(c.name, () => c.expect(headers(tar(c.entries))));

  it('gives the same bytes for the same entries', () => {
    const entries = [file('a', 'one'), file('b', 'two', 0o755)];
    assert.deepEqual(tar(entries), tar(entries));
  });

  for (const bad of ['/etc/passwd', '../escape', 'a//b', 'a/./b', '']) {
    it(`refuses the entry path '${bad}', which is not relative and normalized`, () => {
      assert.throws(() => tar([file(bad)]), /invalid entry path/);
    });
  }
});
