// The sidecar's one output for log and audit lines (stdout in production,
// shared by pino's operational log and the audit trail, so lines keep
// their order). Lines are encoded into a 64 KiB buffer that is written out
// whole, synchronously, when the next line would not fit, at least every
// `flushMs`, and on exit (flushSync). Synchronous chunk writes keep memory
// bounded and order exact, and lose nothing: a reader slower than the
// sidecar slows the sidecar down instead (the same guarantee as pino's
// default synchronous destination, at one write per ~150 requests rather
// than one per line). pino's asynchronous destination cost ~4 us of CPU
// per line here; this costs well under one.
import { writeSync } from 'node:fs';

export interface LineSinkOptions {
  /** Size of the buffer written at once (default 64 KiB). */
  chunkBytes?: number;
  /** Longest time a line waits in the buffer (default 1000 ms). */
  flushMs?: number;
  /** Called once when a write fails for good (the reader is gone); later lines are dropped. */
  onError?: (e: Error) => void;
}

const EAGAIN_WAIT = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `buf` to `fd`, waiting out EAGAIN on a non-blocking pipe. */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN') throw e;
      Atomics.wait(EAGAIN_WAIT, 0, 0, 1);
    }
  }
}

export class LineSink {
  private readonly fd: number;
  private readonly onError: ((e: Error) => void) | undefined;
  private buf: Buffer;
  private used = 0;
  private broken = false;
  private readonly timer: NodeJS.Timeout;

  constructor(fd: number, o: LineSinkOptions = {}) {
    this.fd = fd;
    this.onError = o.onError;
    this.buf = Buffer.allocUnsafe(o.chunkBytes ?? 64 * 1024);
    this.timer = setInterval(() => this.flushSync(), o.flushMs ?? 1000);
    this.timer.unref();
  }

  /** Bytes waiting in the buffer. */
  get pending(): number {
    return this.used;
  }

  /** Appends one line (the caller ends it with "\n"). */
  write(line: string): boolean {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    if (line.length * 3 > this.buf.length - this.used) {
      this.flushSync();
      if (line.length * 3 > this.buf.length) {
        this.out(Buffer.from(line));
        return true;
      }
    }
    this.used += this.buf.write(line, this.used);
    return true;
  }

  /** Writes out what is buffered, now. */
  flushSync(): void {
    if (this.used === 0) return;
    const chunk = this.buf.subarray(0, this.used);
    this.used = 0;
    this.out(chunk);
  }

  /** Flushes and stops the timer. */
  end(): void {
    this.flushSync();
    clearInterval(this.timer);
  }

  private out(chunk: Buffer): void {
    if (this.broken) return;
    try {
      writeAll(this.fd, chunk);
    } catch (e) {
      this.broken = true;
      this.onError?.(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
