// JSON in and out of the admission paths: reads a request body with a byte
// cap into one JSON.parse, and writes a response as one buffer with its
// Content-Length. Replaces express.json() and res.json() on the hot path,
// where they were most of the webhook's CPU per admission (content-type
// negotiation, charset handling, a second stringify pass, ETag logic). A
// body over the cap is refused from its Content-Length before a byte is
// read, or as soon as the streamed bytes cross it; errors carry a stable
// code and the HTTP status, and the caller turns them into AdmissionReview
// responses.
import type { NextFunction, Request, Response } from 'express';
import { AcpError } from '@acp/crds';

export class BodyError extends AcpError {
  readonly status: 400 | 413;
  constructor(status: 400 | 413, message: string) {
    super(status === 413 ? 'ACP_ERR_ADMISSION_TOO_LARGE' : 'ACP_ERR_ADMISSION_MALFORMED', message);
    this.status = status;
  }
}

const tooLarge = (limit: number): BodyError =>
  new BodyError(413, `the request body is too large (limit ${limit} bytes)`);

/** Middleware: `req.body` = the parsed JSON body, or next(BodyError). */
export function jsonBody(limit: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      next(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (e: unknown): void => {
      if (done) return;
      done = true;
      chunks.length = 0;
      next(e);
    };
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) fail(tooLarge(limit));
      else chunks.push(c);
    });
    req.on('error', fail);
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks, size).toString('utf8');
      try {
        req.body = JSON.parse(text) as unknown;
      } catch {
        next(new BodyError(400, 'the request body is not valid JSON'));
        return;
      }
      next();
    });
  };
}

/** Writes `value` as JSON in one buffer. */
export function sendJson(res: Response, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
}
