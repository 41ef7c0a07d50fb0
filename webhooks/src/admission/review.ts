// AdmissionReview v1: structured decoding of what the apiserver sends
// (every field the handlers rely on is checked, nothing is trusted) and
// the responses we send back. A malformed review is answered with an
// error response that echoes the request's uid when it has one. Pure.

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
import { isObject } from '../json.ts';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object: unknown;
  oldObject: unknown;
  dryRun: boolean;
  userInfo?: { username?: string };
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export type Decoded =
  | { ok: true; request: AdmissionRequest }
  | { ok: false; uid: string; code: number; reason: string; message: string };

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

function gvk(v: unknown): GroupVersionKind | undefined {
  if (!isObject(v)) return undefined;
  const { group, version, kind } = v;
  if (typeof group !== 'string' || typeof version !== 'string' || typeof kind !== 'string') return undefined;
  return { group, version, kind };
}

function resourceOf(v: unknown): AdmissionRequest['resource'] | undefined {
  if (!isObject(v)) return undefined;
  const { group, version, resource } = v;
  if (typeof group !== 'string' || typeof version !== 'string' || typeof resource !== 'string')
    return undefined;
  return { group, version, resource };
}

const fail = (uid: string, message: string, code = 400, reason = 'BadRequest'): Decoded => ({
  ok: false,
  uid,
  code,
  reason,
  message,
});

/** Decodes a parsed request body into an AdmissionRequest, or says what is wrong with it. */
export function decodeReview(body: unknown): Decoded {
  if (!isObject(body)) return fail('', 'the body is not a JSON object');
  const req = body['request'];
  const uid = isObject(req) && typeof req['uid'] === 'string' ? req['uid'] : '';
  if (body['apiVersion'] !== ADMISSION_API_VERSION || body['kind'] !== 'AdmissionReview') {
    return fail(
      uid,
      `expected an AdmissionReview of ${ADMISSION_API_VERSION}, got ${String(body['kind'])} ${String(body['apiVersion'])}`,
    );
  }
  if (!isObject(req)) return fail('', 'the AdmissionReview has no request');
  if (uid === '') return fail('', 'the AdmissionReview request has no uid');
  const kind = gvk(req['kind']);
  const resource = resourceOf(req['resource']);
  const operation = req['operation'];
  if (!kind || !resource) return fail(uid, 'the request lacks kind or resource');
  if (typeof operation !== 'string' || !OPERATIONS.has(operation)) {
    return fail(uid, `the request has an unknown operation: ${String(operation)}`);
  }
  const out: AdmissionRequest = {
    uid,
    kind,
    resource,
    operation: operation as AdmissionRequest['operation'],
    object: req['object'] ?? null,
    oldObject: req['oldObject'] ?? null,
    dryRun: req['dryRun'] === true,
  };
  for (const field of ['subResource', 'name', 'namespace'] as const) {
    const v = req[field];
    if (typeof v === 'string' && v !== '') out[field] = v;
  }
  const user = req['userInfo'];
  if (isObject(user) && typeof user['username'] === 'string') out.userInfo = { username: user['username'] };
  return { ok: true, request: out };
}

export function review(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/** Allows the request, with a JSON Patch when there are operations, and warnings when there are any. */
export function allow(
  uid: string,
  patch: readonly unknown[] = [],
  warnings: readonly string[] = [],
): AdmissionResponse {
  const out: AdmissionResponse = { uid, allowed: true };
  if (patch.length > 0) {
    out.patchType = 'JSONPatch';
    out.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  if (warnings.length > 0) out.warnings = [...warnings];
  return out;
}

export function deny(uid: string, code: number, message: string, reason?: string): AdmissionResponse {
  const status: AdmissionResponse['status'] = { code, message };
  if (reason) status.reason = reason;
  return { uid, allowed: false, status };
}
