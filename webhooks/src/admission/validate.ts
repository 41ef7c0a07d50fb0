// The ApiCompliancePolicy admission check: decodes the policy of a CREATE
// or UPDATE, runs the semantic checks every judge of a policy shares
// (@acp/crds checkPolicySpec: what `acp validate` refuses and the operator
// would mark InvalidSpec, with the same field-named messages) and the
// namespace-level checks (policy/validate.ts) against the other policies
// of the namespace from the cache, and answers with a refusal naming every
// problem, or an allow with warnings. Pure (asynchronous: JWT keys are
// parsed by jose).
import { checkPolicySpec, formatFieldErrors, GROUP, KIND, type JwksLimits } from '@acp/crds';
import { toSelector, type LabelSelector } from '../policy/selector.ts';
import { checkPolicy, type PolicyView } from '../policy/validate.ts';
import { allow, deny, type AdmissionRequest } from './review.ts';
import type { Admission } from './inject.ts';
import { isObject } from '../json.ts';

export interface ValidateDeps {
  excludedNamespaces: ReadonlySet<string>;
  policiesIn(namespace: string): readonly PolicyView[];
  /** Limits of inline JWKS (default: the operator's defaults). */
  jwksLimits?: JwksLimits;
}

interface DecodedPolicy {
  name: string;
  deleting: boolean;
  selector: LabelSelector;
  spec: Record<string, unknown>;
}

function decodePolicy(obj: unknown): DecodedPolicy | undefined {
  if (!isObject(obj) || !isObject(obj['spec']) || !isObject(obj['metadata'])) return undefined;
  const spec = obj['spec'];
  const selector = toSelector(spec['selector']);
  if (!selector) return undefined;
  const name = obj['metadata']['name'];
  return {
    name: typeof name === 'string' ? name : '',
    deleting:
      obj['metadata']['deletionTimestamp'] !== undefined && obj['metadata']['deletionTimestamp'] !== null,
    selector,
    spec,
  };
}

const error = (uid: string, code: string, message: string): Admission => ({
  response: deny(uid, 400, message, 'BadRequest'),
  outcome: { kind: 'error', code, message },
});

/** The semantic errors of the policy as `field: message; ...` (what `acp validate` names), or none. */
async function specErrors(obj: unknown, deps: ValidateDeps): Promise<string[]> {
  const r = await checkPolicySpec(obj, deps.jwksLimits);
  return r.ok ? [] : [formatFieldErrors(r.errors)];
}

/** Admits one ApiCompliancePolicy request. */
export async function admitPolicy(request: AdmissionRequest, deps: ValidateDeps): Promise<Admission> {
  const { uid, kind } = request;
  if (kind.group !== GROUP || kind.kind !== KIND || request.subResource) {
    return error(uid, 'ACP_ERR_ADMISSION_NOT_A_POLICY', `this webhook validates ${KIND}, not ${kind.kind}`);
  }
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') {
    return { response: allow(uid), outcome: { kind: 'allowed', warnings: 0 } };
  }
  const policy = decodePolicy(request.object);
  if (!policy)
    return error(uid, 'ACP_ERR_ADMISSION_NOT_A_POLICY', 'the request carries no policy with spec.selector');
  if (policy.deleting) {
    return { response: allow(uid), outcome: { kind: 'allowed', warnings: 0 } };
  }
  const namespace = request.namespace ?? '';
  const previous = request.operation === 'UPDATE' ? decodePolicy(request.oldObject) : undefined;
  const result = checkPolicy({
    namespace,
    policy: { name: policy.name || (request.name ?? ''), selector: policy.selector, spec: policy.spec },
    ...(previous ? { previous: { name: previous.name, selector: previous.selector } } : {}),
    others: deps.policiesIn(namespace),
    excludedNamespaces: deps.excludedNamespaces,
  });
  const errors = [...(await specErrors(request.object, deps)), ...result.errors];
  if (errors.length > 0) {
    const message = `${KIND} ${namespace}/${policy.name} refused: ${errors.join('; ')}`;
    const response = deny(uid, 422, message, 'Invalid');
    if (result.warnings.length > 0) response.warnings = result.warnings;
    return { response, outcome: { kind: 'refused', message } };
  }
  return {
    response: allow(uid, [], result.warnings),
    outcome: { kind: 'allowed', warnings: result.warnings.length },
  };
}
