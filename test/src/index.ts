// The test package: the real control plane for tests (one per run) and the
// helpers tests use to reach it.
export {
  useCluster,
  kubectl,
  helm,
  createNamespace,
  type TestCluster,
  type ExecResult,
} from '../harness/cluster.ts';
export { freePort } from '../harness/ports.ts';
export {
  installOperatorRbac,
  serviceAccountKubeconfig,
  startOperator,
  eventually,
  type OperatorProcess,
  type OperatorOptions,
} from '../harness/operator.ts';
export { podBoundToken, tokenStatus, writeKubeconfig, type RotatingToken } from '../harness/tokens.ts';
