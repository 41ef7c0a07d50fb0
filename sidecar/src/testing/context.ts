// Test-only: a policy snapshot compiled from a config, and a request context
// with a fake request (a real Readable for the body) and a response that
// records what the sidecar wrote, for table tests of single layers.
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SidecarConfig } from '@acp/crds/sidecar';
import { compilePolicy, type Policy } from '../config/policy.ts';
import { scanRequestHeaders } from '../http/request-headers.ts';
import type { RequestContext } from '../pipeline/types.ts';

export function policyOf(config: SidecarConfig, nowMs: () => number = Date.now): Policy {
  return compilePolicy(config, JSON.stringify(config), {
    nowMs,
    remoteJwks: () => {
      throw new Error('no remote JWKS in this test');
    },
  });
}

export interface FakeResponse {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  headersSent: boolean;
  destroyed: boolean;
}

export interface RequestSpec {
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  body?: Buffer[];
  peerId?: string | undefined;
  remoteAddress?: string;
  /** [major, minor]; default HTTP/1.1. */
  httpVersion?: [number, number];
}

export function fakeContext(policy: Policy, spec: RequestSpec = {}): RequestContext & { out: FakeResponse } {
  const headers = Object.fromEntries(
    Object.entries(spec.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const req = Object.assign(Readable.from(spec.body ?? []), {
    method: spec.method ?? 'GET',
    url: spec.url ?? '/',
    headers,
    rawHeaders: Object.entries(spec.headers ?? {}).flat(),
    httpVersionMajor: spec.httpVersion?.[0] ?? 1,
    httpVersionMinor: spec.httpVersion?.[1] ?? 1,
    complete: true,
  }) as unknown as IncomingMessage;
  const out: FakeResponse = { status: 0, headers: {}, body: '', headersSent: false, destroyed: false };
  const res = {
    get headersSent() {
      return out.headersSent;
    },
    writeHead(status: number, h: Record<string, unknown>) {
      out.status = status;
      out.headers = h;
      out.headersSent = true;
      return this;
    },
    end(body?: string) {
      out.body = body ?? '';
    },
    destroy() {
      out.destroyed = true;
    },
  } as unknown as ServerResponse;
  return {
    out,
    req,
    res,
    policy,
    conn: {
      peerId: spec.peerId,
      remoteAddress: spec.remoteAddress ?? '10.0.0.7',
      inFlight: new Set(),
      last: undefined,
    },
    headers: scanRequestHeaders(Object.entries(spec.headers ?? {}).flat(), policy.auditHeaders),
    startMs: 0,
    requestId: 'req-00000001',
    path: spec.url?.split('?')[0] ?? '/',
    query: '',
    subject: undefined,
    claimHeaders: undefined,
    wouldDeny: undefined,
    bodyLength: undefined,
    body: undefined,
    bytesIn: 0,
    bytesOut: 0,
    done: false,
    protocolError: undefined,
    sendContinue: undefined,
  };
}
