// A monitoring stack beside the real node, as a platform team runs one: the
// Prometheus Operator (built from its pinned module, on the host, talking to
// the node's kube-apiserver) turns a Prometheus resource and the chart's
// PodMonitors, ServiceMonitor and PrometheusRule into a Prometheus
// configuration and rule files, exactly as in a cluster; a real Prometheus
// server on the host then runs that configuration against the node's pods.
// The Prometheus resource's pods never schedule (a node selector nothing
// matches): the stack needs no Prometheus image. What is changed on the way
// from the operator's output to the host's server is in `hostConfig` (pure):
// the config-reloader's `$(VAR)` expansion, service discovery and the
// apiserver job through the test's admin credentials, and the rule files
// read from a local directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { freePort } from '../ports.ts';

export const MONITORING_NAMESPACE = 'monitoring';
export const PROMETHEUS_NAME = 'k8s';

/** The Prometheus resource: every monitor and rule of every namespace, 5 s intervals, pods that never run. */
export function prometheusResource(interval = '5s'): object {
  const all = {};
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'Prometheus',
    metadata: { name: PROMETHEUS_NAME, namespace: MONITORING_NAMESPACE },
    spec: {
      replicas: 1,
      scrapeInterval: interval,
      evaluationInterval: interval,
      podMonitorSelector: all,
      podMonitorNamespaceSelector: all,
      serviceMonitorSelector: all,
      serviceMonitorNamespaceSelector: all,
      ruleSelector: all,
      ruleNamespaceSelector: all,
      // the server runs on the host; the operator's StatefulSet pod stays Pending
      nodeSelector: { 'acp.dev/no-such-node': 'true' },
    },
  };
}

export interface HostCredentials {
  kubeconfig: string;
  /** host:port of kube-apiserver and the admin client files, for the apiserver job. */
  apiserver: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

type Doc = Record<string, any>;

/**
 * The operator's generated configuration (YAML) made runnable on the host:
 * Kubernetes service discovery through the test kubeconfig instead of the
 * in-cluster ServiceAccount, rule files from `ruleDir`, no Alertmanager, and
 * the apiserver job kube-prometheus-stack adds beside the chart's monitors.
 */
export function hostConfig(generated: string, ruleDir: string, creds: HostCredentials): Doc {
  const config = parse(
    reloaderExpand(generated, { SHARD: '0', POD_NAME: `prometheus-${PROMETHEUS_NAME}-0` }),
  ) as Doc;
  for (const job of (config.scrape_configs ?? []) as Doc[]) {
    for (const sd of (job.kubernetes_sd_configs ?? []) as Doc[]) sd.kubeconfig_file = creds.kubeconfig;
  }
  config.rule_files = [join(ruleDir, '*.yaml')];
  delete config.alerting;
  config.scrape_configs = [
    ...((config.scrape_configs ?? []) as Doc[]),
    {
      job_name: 'apiserver',
      scheme: 'https',
      static_configs: [{ targets: [creds.apiserver] }],
      tls_config: { ca_file: creds.caFile, cert_file: creds.certFile, key_file: creds.keyFile },
    },
  ];
  return config;
}

/**
 * What the operator's config-reloader does before Prometheus reads the file:
 * `$(NAME)` replaced by the container's environment (the shard number in the
 * sharding relabeling, the pod name in the replica label). An unknown name is
 * an error, as in the reloader.
 */
export function reloaderExpand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined)
      throw new Error(`the generated configuration names $(${name}), which the reloader would not know`);
    return v;
  });
}

export interface OperatorOutput {
  /** prometheus.yaml.gz of the `prometheus-k8s` Secret, base64 as the API returns it. */
  configGz: string;
  /** The rule files of the `prometheus-k8s-rulefiles-*` ConfigMaps. */
  ruleFiles: Record<string, string>;
}

export function decodeGeneratedConfig(configGz: string): string {
  return gunzipSync(Buffer.from(configGz, 'base64')).toString('utf8');
}

function started(child: ChildProcess, what: string, log: string): ChildProcess {
  child.on('error', (e) => process.stderr.write(`${what}: ${e.message} (log: ${log})\n`));
  return child;
}

/** The Prometheus Operator on the host: all namespaces, its Prometheus objects in `monitoring`. */
export async function startPrometheusOperator(
  bin: string,
  dir: string,
  creds: HostCredentials,
): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'prometheus-operator.log');
  const out = openSync(log, 'a');
  const port = await freePort();
  return started(
    spawn(
      bin,
      [
        `--apiserver=https://${creds.apiserver}`,
        `--ca-file=${creds.caFile}`,
        `--cert-file=${creds.certFile}`,
        `--key-file=${creds.keyFile}`,
        `--prometheus-instance-namespaces=${MONITORING_NAMESPACE}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log-level=info',
      ],
      { stdio: ['ignore', out, out] },
    ),
    'prometheus-operator',
    log,
  );
}

export interface HostPrometheus {
  url: string;
  process: ChildProcess;
  configFile: string;
}

/** Writes the operator's output made runnable on the host and starts Prometheus on 127.0.0.1. */
export async function startHostPrometheus(
  bin: string,
  dir: string,
  output: OperatorOutput,
  creds: HostCredentials,
): Promise<HostPrometheus> {
  const ruleDir = join(dir, 'rules');
  mkdirSync(ruleDir, { recursive: true });
  for (const [file, text] of Object.entries(output.ruleFiles)) writeFileSync(join(ruleDir, file), text);
  const configFile = join(dir, 'prometheus.yaml');
  writeFileSync(configFile, stringify(hostConfig(decodeGeneratedConfig(output.configGz), ruleDir, creds)));
  const port = await freePort();
  const log = join(dir, 'prometheus.log');
  const out = openSync(log, 'a');
  const child = spawn(
    bin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', out, out] },
  );
  return { url: `http://127.0.0.1:${port}`, process: started(child, 'prometheus', log), configFile };
}

/** GET on Prometheus' HTTP API; throws with the body unless status is success. */
export async function promApi<T>(url: string, path: string): Promise<T> {
  const res = await fetch(url + path);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
  return body.data;
}
