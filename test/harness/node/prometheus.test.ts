// hostConfig: the Prometheus Operator's generated configuration made runnable on the host.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { decodeGeneratedConfig, hostConfig, reloaderExpand } from './prometheus.ts';

const creds = {
  kubeconfig: '/k/kubeconfig',
  apiserver: '198.18.0.1:6443',
  caFile: '/k/ca.crt',
  certFile: '/k/admin.crt',
  keyFile: '/k/admin.key',
};
const generated = stringify({
  global: {
    scrape_interval: '5s',
    external_labels: { prometheus: 'monitoring/k8s', prometheus_replica: '$(POD_NAME)' },
  },
  rule_files: ['/etc/prometheus/rules/prometheus-k8s-rulefiles-0/*.yaml'],
  scrape_configs: [
    {
      job_name: 'podMonitor/acp-system/acp-sidecars/0',
      kubernetes_sd_configs: [{ role: 'pod' }],
      relabel_configs: [
        { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'acp-admin', action: 'keep' },
        { source_labels: ['__tmp_hash', '__tmp_disable_sharding'], regex: '$(SHARD);|.+;.+', action: 'keep' },
      ],
    },
  ],
  alerting: { alertmanagers: [] },
});

test('service discovery goes through the test kubeconfig, relabelings untouched', () => {
  const c = hostConfig(generated, '/r', creds);
  const job = c.scrape_configs[0];
  assert.deepEqual(job.kubernetes_sd_configs, [{ role: 'pod', kubeconfig_file: '/k/kubeconfig' }]);
  assert.equal(job.relabel_configs[0].regex, 'acp-admin');
});

test('rule files are read from the local directory and no Alertmanager is configured', () => {
  const c = hostConfig(generated, '/r', creds);
  assert.deepEqual(c.rule_files, ['/r/*.yaml']);
  assert.equal(c.alerting, undefined);
  assert.deepEqual(c.global.external_labels, {
    prometheus: 'monitoring/k8s',
    prometheus_replica: 'prometheus-k8s-0',
  });
});

test('the reloader’s $(VAR) expansion: shard 0 in the sharding relabeling, the pod name in the replica label', () => {
  const c = hostConfig(generated, '/r', creds);
  assert.equal(c.scrape_configs[0].relabel_configs[1].regex, '0;|.+;.+');
});

test('a $(VAR) the reloader would not know is an error, not an empty string', () => {
  assert.throws(() => reloaderExpand('regex: $(NODE_NAME)', { SHARD: '0' }), /NODE_NAME/);
});

test('an apiserver job with the admin client certificate is added after the generated jobs', () => {
  const c = hostConfig(generated, '/r', creds);
  assert.equal(c.scrape_configs.length, 2);
  assert.deepEqual(c.scrape_configs[1], {
    job_name: 'apiserver',
    scheme: 'https',
    static_configs: [{ targets: ['198.18.0.1:6443'] }],
    tls_config: { ca_file: '/k/ca.crt', cert_file: '/k/admin.crt', key_file: '/k/admin.key' },
  });
});

test('the Secret’s prometheus.yaml.gz decodes to the configuration text', () => {
  assert.equal(decodeGeneratedConfig(gzipSync(generated).toString('base64')), generated);
});
