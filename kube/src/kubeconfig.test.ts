import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inClusterConnection, loadConnection, parseKubeconfig } from './kubeconfig.ts';

const kubeconfig = (user: string, extra = ''): string => `
apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context: {cluster: k, user: u, namespace: team}
clusters:
- name: k
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority: ca.crt
${extra}
users:
- name: u
  user:
${user}
`;

describe('parseKubeconfig', () => {
  const cases: [string, string, Record<string, unknown>][] = [
    ['keeps a token', '    token: abc', { token: 'abc' }],
    [
      'keeps the path of a tokenFile, relative to the kubeconfig',
      '    tokenFile: tok',
      { tokenFile: '/etc/kc/tok' },
    ],
    ["accepts client-node's token-file spelling", '    token-file: /run/tok', { tokenFile: '/run/tok' }],
    [
      'keeps the paths of client certificate files',
      '    client-certificate: /c.crt\n    client-key: k.key',
      { certFile: '/c.crt', keyFile: '/etc/kc/k.key' },
    ],
    [
      'decodes client certificate data',
      `    client-certificate-data: ${Buffer.from('CERT').toString('base64')}\n    client-key-data: ${Buffer.from('KEY').toString('base64')}`,
      { certData: 'CERT', keyData: 'KEY' },
    ],
    [
      'reads an exec plugin, with a relative command resolved against the kubeconfig',
      '    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./bin/plugin\n      args: [get-token]\n      env: [{name: A, value: b}]',
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: '/etc/kc/bin/plugin',
          args: ['get-token'],
          env: [{ name: 'A', value: 'b' }],
          provideClusterInfo: false,
        },
      },
    ],
  ];
  for (const [name, user, want] of cases) {
    it(name, () => {
      const c = parseKubeconfig([{ path: '/etc/kc/config', text: kubeconfig(user) }]);
      assert.deepEqual(c.auth, want);
    });
  }

  it('takes the server without a trailing slash, the CA path and the namespace of the context', () => {
    const c = parseKubeconfig([{ path: '/etc/kc/config', text: kubeconfig('    token: x') }]);
    assert.deepEqual(c.cluster, {
      server: 'https://10.0.0.1:6443',
      caFile: '/etc/kc/ca.crt',
      skipTLSVerify: false,
    });
    assert.equal(c.namespace, 'team');
  });

  it('lets the first file of a KUBECONFIG list win for a name both define', () => {
    const other = kubeconfig('    token: second').replace('current-context: c', 'current-context: other');
    const c = parseKubeconfig([
      { path: '/a', text: kubeconfig('    token: first') },
      { path: '/b', text: other },
    ]);
    assert.equal(c.auth.token, 'first');
  });

  it('refuses an auth-provider with a clear error', () => {
    assert.throws(
      () => parseKubeconfig([{ path: '/k', text: kubeconfig('    auth-provider: {name: gcp}') }]),
      { code: 'ACP_ERR_KUBECONFIG', message: /auth-provider is not supported/ },
    );
  });

  it('refuses a context that names a missing cluster', () => {
    const text = kubeconfig('    token: x').replace('cluster: k, user', 'cluster: nope, user');
    assert.throws(() => parseKubeconfig([{ path: '/k', text }]), { code: 'ACP_ERR_KUBECONFIG' });
  });
});

describe('inClusterConnection', () => {
  it('reads the token file and CA of the ServiceAccount mount, never the token itself', () => {
    const c = inClusterConnection(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      '/sa',
      () => 'acp-system\n',
    );
    assert.deepEqual(c, {
      cluster: { server: 'https://[fd00::1]:443', caFile: '/sa/ca.crt', skipTLSVerify: false },
      auth: { tokenFile: '/sa/token' },
      namespace: 'acp-system',
      source: 'in-cluster',
    });
  });
});

describe('loadConnection', () => {
  const files: Record<string, string> = {
    '/k1': kubeconfig('    token: k1'),
    '/home/me/.kube/config': kubeconfig('    token: home'),
  };
  const read = (p: string): string => {
    const t = files[p];
    if (t === undefined) throw new Error('ENOENT');
    return t;
  };
  const cases: [string, string | undefined, Record<string, string>, string][] = [
    [
      'uses the kubeconfig given',
      '/k1',
      { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '1' },
      '/k1',
    ],
    [
      'uses the in-cluster ServiceAccount in a pod',
      undefined,
      { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '1' },
      'in-cluster',
    ],
    ['falls back to ~/.kube/config', undefined, { HOME: '/home/me' }, '/home/me/.kube/config'],
  ];
  for (const [name, kc, env, source] of cases) {
    it(name, () => assert.equal(loadConnection(kc, env, read).source, source));
  }
});
