// Fetches one JSON Web Key Set over https for the operator: https only, a
// timeout for the whole exchange, a cap on the body (counted while reading,
// so a huge or endless body is cut off), JSON only, and every key through
// validateJwks of @acp/crds (public asymmetric keys only, RSA >= 2048
// bits, at most N keys, each parsed by jose). Failures are AcpErrors with
// stable codes.
import { request, type Dispatcher } from 'undici';
import { AcpError, errorMessage, validateJwks, type Jwk, type JwksLimits } from '@acp/crds';

export interface JwksFetchOptions {
  dispatcher: Dispatcher;
  timeoutMs: number;
  maxBytes: number;
  limits: JwksLimits;
}

export const JWKS_ERRORS = {
  notHttps: 'ACP_ERR_JWKS_NOT_HTTPS',
  unreachable: 'ACP_ERR_JWKS_UNREACHABLE',
  timeout: 'ACP_ERR_JWKS_TIMEOUT',
  status: 'ACP_ERR_JWKS_HTTP_STATUS',
  tooLarge: 'ACP_ERR_JWKS_TOO_LARGE',
  notJson: 'ACP_ERR_JWKS_NOT_JSON',
} as const;

export async function fetchJwks(uri: string, o: JwksFetchOptions): Promise<Jwk[]> {
  if (!uri.startsWith('https://')) throw new AcpError(JWKS_ERRORS.notHttps, `${uri} is not an https URL`);
  const signal = AbortSignal.timeout(o.timeoutMs);
  let body = '';
  try {
    // undici's request does not follow redirects: a 3xx is refused like any non-200.
    const res = await request(uri, {
      method: 'GET',
      dispatcher: o.dispatcher,
      headers: { accept: 'application/json' },
      signal,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new AcpError(JWKS_ERRORS.status, `${uri} answered HTTP ${res.statusCode}`);
    }
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > o.maxBytes) {
        res.body.destroy();
        throw new AcpError(JWKS_ERRORS.tooLarge, `${uri} sent more than ${o.maxBytes} bytes`);
      }
      body += (chunk as Buffer).toString('utf8');
    }
  } catch (e) {
    if (e instanceof AcpError) throw e;
    if (signal.aborted)
      throw new AcpError(JWKS_ERRORS.timeout, `${uri} did not answer within ${o.timeoutMs} ms`);
    throw new AcpError(JWKS_ERRORS.unreachable, `${uri}: ${errorMessage(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new AcpError(JWKS_ERRORS.notJson, `${uri} did not send JSON`);
  }
  return validateJwks(json, o.limits);
}
