// Test-only: differential checks of the sidecar's hand-written HTTP/1.1
// parsers against llhttp (node:http's parser, testing/llhttp.ts), and the
// seeded fuzzing loop over generated and mutated messages
// (testing/http-gen.ts). The property, for both parsers: what ours accepts,
// llhttp accepts too, and both read it the same way.
// - Request heads (http/simple-head.ts as the fast path uses it,
//   server/fast-http.ts): a head the fast path serves must be one request
//   to llhttp, complete at the same byte (no body), HTTP/1.1, keep-alive,
//   no upgrade, with the same method, target and header list.
// - Responses (upstream/response-parser.ts): a response ours completes
//   must be complete to llhttp at the same byte (or both at the close), with
//   the same status, headers and body bytes, after the same interim
//   responses; a connection ours keeps must be keep-alive to llhttp too; and
//   ours must read the same bytes the same way however they are split.
// Used by the bounded unit test (http/http-diff.test.ts) and the longer run
// (test/bench/fuzz/http-diff.ts).
import { isDeepStrictEqual } from 'node:util';
import { parseSimpleHead } from '../http/simple-head.ts';
import { ResponseParser } from '../upstream/response-parser.ts';
import { caseRng, generateRequest, generateResponse, mutate, type Rng } from './http-gen.ts';
import { llhttpParse } from './llhttp.ts';

export const MAX_HEAD_BYTES = 16 * 1024;

/** How ours and llhttp each read a case; `disagreement` says why they differ (null: they agree). */
export interface Verdict {
  ours: 'accepted' | 'refused';
  llhttp: 'accepted' | 'refused';
  disagreement: string | null;
}

const verdict = (ours: boolean, ref: boolean, disagreement: string | null = null): Verdict => ({
  ours: ours ? 'accepted' : 'refused',
  llhttp: ref ? 'accepted' : 'refused',
  disagreement,
});

/** The fast path's decision on `bytes` (a connection's unread bytes at a request boundary) against llhttp's reading. */
export function checkRequest(bytes: Buffer, maxHeaderBytes = MAX_HEAD_BYTES): Verdict {
  const end = bytes.indexOf('\r\n\r\n');
  const headEnd = end + 4;
  const ours =
    end < 0 || headEnd > maxHeaderBytes ? null : parseSimpleHead(bytes.toString('latin1', 0, end + 2));
  const ref = llhttpParse('request', end < 0 ? bytes : bytes.subarray(0, headEnd), {
    maxHeaderSize: maxHeaderBytes,
  });
  const first = ref.messages[0];
  const refOk = ref.error === null && first?.complete === true;
  if (!ours) return verdict(false, refOk);
  const why = ((): string | null => {
    if (ref.error !== null) return `llhttp refuses it (${ref.error} at byte ${ref.parsed})`;
    if (!first || ref.messages.length !== 1 || !first.complete || ref.parsed !== headEnd) {
      return `llhttp does not read one complete request of ${headEnd} bytes (${ref.messages.length} messages, ${ref.parsed} bytes)`;
    }
    if (first.method !== ours.method) return `method: ours ${ours.method}, llhttp ${String(first.method)}`;
    if (first.url !== ours.url)
      return `target: ours ${JSON.stringify(ours.url)}, llhttp ${JSON.stringify(first.url)}`;
    if (!isDeepStrictEqual(first.rawHeaders, ours.rawHeaders)) {
      return `headers: ours ${JSON.stringify(ours.rawHeaders)}, llhttp ${JSON.stringify(first.rawHeaders)}`;
    }
    if (first.version !== '1.1') return `llhttp reads HTTP/${first.version}`;
    if (first.upgrade) return 'llhttp reads an upgrade';
    if (!first.keepAlive) return 'llhttp would close the connection';
    if (first.body.length > 0) return 'llhttp reads a body';
    return null;
  })();
  return verdict(true, refOk, why);
}

/** What our response parser made of a response. */
interface OursResponse {
  status: number;
  headers: string[];
  body: string;
  keepAlive: boolean;
  /** Bytes of the input that belong to the message. */
  used: number;
  /** The message ended with the connection (a body delimited by the close). */
  atClose: boolean;
}

/** Runs our parser over `pieces`; null when it refuses the response or is still waiting for bytes. */
function parseOurs(pieces: readonly Buffer[], method: string, eof: boolean): OursResponse | null {
  let head: { status: number; headers: string[] } | null = null;
  let body = '';
  let keepAlive: boolean | null = null;
  const parser = new ResponseParser(
    {
      onHead: (status, headers) => (head = { status, headers }),
      onBody: (chunk) => (body += chunk.toString('latin1')),
      onEnd: (k) => (keepAlive = k),
    },
    MAX_HEAD_BYTES,
  );
  parser.expect(method);
  let used = 0;
  try {
    for (const piece of pieces) {
      const n = parser.push(piece);
      used += n;
      if (parser.idle) break;
    }
    let atClose = false;
    if (!parser.idle && eof) {
      parser.end();
      atClose = true;
    }
    const h = head as { status: number; headers: string[] } | null;
    if (keepAlive === null || h === null) return null;
    return { status: h.status, headers: h.headers, body, keepAlive, used, atClose };
  } catch {
    return null;
  }
}

/** `bytes` cut at the given offsets. */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut <= from || cut >= bytes.length) continue;
    out.push(bytes.subarray(from, cut));
    from = cut;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** Our response parser on `bytes` (fed whole and in the given pieces) against llhttp's reading. */
export function checkResponse(
  bytes: Buffer,
  method: 'GET' | 'HEAD',
  eof: boolean,
  cuts: readonly number[] = [],
): Verdict {
  const whole = parseOurs([bytes], method, eof);
  const split = parseOurs(splitAt(bytes, cuts), method, eof);
  const refAll = llhttpParse('response', bytes, {
    maxHeaderSize: MAX_HEAD_BYTES,
    headResponse: method === 'HEAD',
    eof,
  });
  const refOk = refAll.error === null && refAll.messages.at(-1)?.complete === true;
  if (!isDeepStrictEqual(whole, split)) {
    return verdict(whole !== null, refOk, `ours reads it differently in pieces at ${JSON.stringify(cuts)}`);
  }
  if (!whole) return verdict(false, refOk);
  const ref = whole.atClose
    ? refAll
    : llhttpParse('response', bytes.subarray(0, whole.used), {
        maxHeaderSize: MAX_HEAD_BYTES,
        headResponse: method === 'HEAD',
      });
  const why = ((): string | null => {
    if (ref.error !== null) return `llhttp refuses it (${ref.error} at byte ${ref.parsed})`;
    const last = ref.messages.at(-1);
    if (!last?.complete || ref.messages.some((m) => !m.complete)) {
      return `llhttp does not read a complete response in the ${whole.used} bytes ours used${whole.atClose ? ' and the close' : ''}`;
    }
    if (ref.messages.slice(0, -1).some((m) => m.status >= 200))
      return 'llhttp reads more than one final response';
    if (last.status !== whole.status) return `status: ours ${whole.status}, llhttp ${last.status}`;
    const headers = last.rawHeaders.map((h, i) => (i % 2 === 0 ? h.toLowerCase() : h));
    if (!isDeepStrictEqual(headers, whole.headers)) {
      return `headers: ours ${JSON.stringify(whole.headers)}, llhttp ${JSON.stringify(headers)}`;
    }
    const body = last.body.toString('latin1');
    if (body !== whole.body)
      return `body: ours ${JSON.stringify(whole.body)}, llhttp ${JSON.stringify(body)}`;
    if (whole.keepAlive && !last.keepAlive) return 'ours keeps the connection, llhttp would close it';
    return null;
  })();
  return verdict(true, refOk, why);
}

export interface FuzzCase {
  kind: 'request' | 'response';
  /** latin1 text of the bytes. */
  input: string;
  method?: 'GET' | 'HEAD';
  eof?: boolean;
  cuts?: number[];
}

/** Case `index` of a run seeded with `seed`: a generated message, mutated half of the time. */
export function fuzzCase(kind: 'request' | 'response', seed: number, index: number): FuzzCase {
  const r: Rng = caseRng(seed, index);
  if (kind === 'request') {
    const text = generateRequest(r);
    return { kind, input: r.chance(0.5) ? mutate(r, text) : text };
  }
  const g = generateResponse(r);
  const input = r.chance(0.4) ? mutate(r, g.bytes) : g.bytes;
  const cuts = Array.from({ length: r.int(0, 3) }, () => r.int(1, Math.max(1, input.length - 1)));
  return { kind, input, method: g.method, eof: g.eof, cuts };
}

export function checkCase(c: FuzzCase): Verdict {
  const bytes = Buffer.from(c.input, 'latin1');
  return c.kind === 'request'
    ? checkRequest(bytes)
    : checkResponse(bytes, c.method ?? 'GET', c.eof ?? false, c.cuts ?? []);
}

export interface FuzzStats {
  cases: number;
  /** Accepted by ours (so compared field by field). */
  oursAccepted: number;
  /** Accepted by llhttp but not by ours (ours stricter, or the fast path hands it to node:http). */
  onlyLlhttp: number;
  disagreements: { index: number; c: FuzzCase; why: string }[];
}

/** Runs cases `from`.. until `count` cases ran or `until()` says stop; stops at `maxFailures` disagreements. */
export function fuzz(
  kind: 'request' | 'response',
  o: { seed: number; from?: number; count: number; until?: () => boolean; maxFailures?: number },
): FuzzStats {
  const stats: FuzzStats = { cases: 0, oursAccepted: 0, onlyLlhttp: 0, disagreements: [] };
  for (let i = o.from ?? 0; stats.cases < o.count && !(o.until?.() ?? false); i++) {
    const c = fuzzCase(kind, o.seed, i);
    const v = checkCase(c);
    stats.cases++;
    if (v.ours === 'accepted') stats.oursAccepted++;
    else if (v.llhttp === 'accepted') stats.onlyLlhttp++;
    if (v.disagreement !== null) {
      stats.disagreements.push({ index: i, c, why: v.disagreement });
      if (stats.disagreements.length >= (o.maxFailures ?? 10)) break;
    }
  }
  return stats;
}
