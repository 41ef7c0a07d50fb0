// A deterministic tar writer for image layers: entries in the order given
// (callers sort them), owner 0:0, mtime 0, no user/group names, POSIX ustar
// headers with a PAX record only for a path or link target longer than ustar
// holds. The same entries always give the same bytes, which is what makes the
// image digest reproducible. Written by hand because the job is ~80 lines and
// the common libraries (node-tar) take ownership, modes and times from the
// file system unless each is overridden, which is the opposite of what a
// reproducible layer needs. Pure: no I/O.

export type TarEntry =
  | { type: 'file'; path: string; mode: number; data: Buffer }
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, mode: number, size: number, typeflag: string, linkname: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii'); // mtime
  h.write('        ', 148, 'ascii'); // checksum placeholder
  h.write(typeflag, 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

function pad(data: Buffer): Buffer[] {
  const rest = data.length % BLOCK;
  return rest === 0 ? [data] : [data, Buffer.alloc(BLOCK - rest)];
}

/** A PAX extended header carrying `path` and/or `linkpath` when ustar's 100 bytes are not enough. */
function paxRecords(fields: Record<string, string>): Buffer[] {
  let body = '';
  for (const [key, value] of Object.entries(fields)) {
    const rest = ` ${key}=${value}\n`;
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len += 1;
    body += `${len}${rest}`;
  }
  const data = Buffer.from(body, 'utf8');
  return [header('PaxHeader', 0o644, data.length, 'x', ''), ...pad(data)];
}

/** Refuses paths that would escape the layer root or are not normalized. */
function checkPath(path: string): void {
  if (
    path === '' ||
    path.startsWith('/') ||
    path.split('/').some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new Error(`tar: invalid entry path '${path}' (must be relative and normalized)`);
  }
}

export function tar(entries: readonly TarEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    checkPath(e.path);
    const name = e.type === 'dir' ? `${e.path}/` : e.path;
    const link = e.type === 'symlink' ? e.target : '';
    const long: Record<string, string> = {};
    if (Buffer.byteLength(name) > 100) long['path'] = name;
    if (Buffer.byteLength(link) > 100) long['linkpath'] = link;
    if (Object.keys(long).length > 0) out.push(...paxRecords(long));
    const shortName = long['path'] ? name.slice(0, 99) : name;
    const shortLink = long['linkpath'] ? link.slice(0, 99) : link;
    if (e.type === 'file') {
      out.push(header(shortName, e.mode, e.data.length, '0', ''), ...pad(e.data));
    } else if (e.type === 'dir') {
      out.push(header(shortName, e.mode, 0, '5', ''));
    } else {
      out.push(header(shortName, 0o777, 0, '2', shortLink));
    }
  }
  out.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(out);
}
