import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ContainerConfigError,
  containerEnv,
  type EnvContext,
  type EnvLookups,
  fieldRefValue,
  kubernetesServiceEnv,
  resourceFieldValue,
} from '../../harness/kubelet/env.ts';
import { expand, mappingFor } from '../../harness/kubelet/expansion.ts';

const pod: V1Pod = {
  metadata: {
    name: 'web-0',
    namespace: 'prod',
    uid: 'uid-1',
    labels: { app: 'web', tier: 'front' },
    annotations: { note: 'a "quoted" value' },
  },
  spec: { nodeName: 'local-node', serviceAccountName: 'web', containers: [] },
};

const lookups: EnvLookups = {
  async secret(namespace, name) {
    if (namespace === 'prod' && name === 'creds') return { username: 'root', password: 's3cret' };
    return undefined;
  },
  async configMap(namespace, name) {
    if (namespace === 'prod' && name === 'settings') return { LEVEL: 'debug', 'max.conns': '10' };
    return undefined;
  },
};

const ctx: EnvContext = {
  pod,
  podIP: '127.21.1.7',
  hostIP: '127.21.0.1',
  runtimeEnv: new Map([
    ['PATH', '/usr/bin:/bin'],
    ['HOSTNAME', 'web-0'],
  ]),
  serviceEnv: kubernetesServiceEnv('127.21.0.1', 6443),
  nodeAllocatable: { cpu: '2', memory: '8Gi' },
};

const env = (container: Partial<V1Container>) =>
  containerEnv({ name: 'app', image: 'busybox', ...container }, ctx, lookups);

describe('expand', () => {
  const mapping = mappingFor(new Map([['A', 'x']]), new Map([['B', 'y']]));
  it.each([
    ['$(A)-$(B)', 'x-y'],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$x'],
    ['cost $5', 'cost $5'],
    ['$(A', '$(A'],
    ['end$', 'end$'],
    ['$()', '$()'],
  ])('%s → %s', (input, output) => {
    expect(expand(input, mapping)).toBe(output);
  });
});

describe('containerEnv', () => {
  it('injects the kubernetes Service variables and runtime variables underneath', async () => {
    const result = await env({});
    expect(result.get('KUBERNETES_SERVICE_HOST')).toBe('127.21.0.1');
    expect(result.get('KUBERNETES_SERVICE_PORT')).toBe('6443');
    expect(result.get('KUBERNETES_SERVICE_PORT_HTTPS')).toBe('6443');
    expect(result.get('KUBERNETES_PORT')).toBe('tcp://127.21.0.1:6443');
    expect(result.get('HOSTNAME')).toBe('web-0');
  });

  it('resolves fieldRefs, secretKeyRefs and configMapKeyRefs', async () => {
    const result = await env({
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'settings', key: 'LEVEL' } } },
      ],
    });
    expect(Object.fromEntries([...result].filter(([k]) => !k.startsWith('KUBERNETES')))).toMatchObject({
      POD_NAME: 'web-0',
      POD_NAMESPACE: 'prod',
      NODE_NAME: 'local-node',
      POD_IP: '127.21.1.7',
      APP: 'web',
      PASSWORD: 's3cret',
      LEVEL: 'debug',
    });
  });

  it('expands literal values against variables defined above them, never below', async () => {
    const result = await env({
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'URL', value: 'http://$(POD_NAME).svc:$(KUBERNETES_SERVICE_PORT)/$(LATER)' },
        { name: 'LATER', value: 'x' },
        { name: 'ESCAPED', value: '$$(POD_NAME)' },
      ],
    });
    expect(result.get('URL')).toBe('http://web-0.svc:6443/$(LATER)');
    expect(result.get('ESCAPED')).toBe('$(POD_NAME)');
  });

  it('adds envFrom sources with their prefix; env entries override them', async () => {
    const result = await env({
      envFrom: [{ secretRef: { name: 'creds' }, prefix: 'DB_' }, { configMapRef: { name: 'settings' } }],
      env: [{ name: 'LEVEL', value: 'info' }],
    });
    expect(result.get('DB_username')).toBe('root');
    expect(result.get('DB_password')).toBe('s3cret');
    expect(result.get('max.conns')).toBe('10');
    expect(result.get('LEVEL')).toBe('info');
  });

  it('lets the container override runtime and Service variables', async () => {
    const result = await env({ env: [{ name: 'PATH', value: '/opt/bin' }] });
    expect(result.get('PATH')).toBe('/opt/bin');
  });

  it('skips optional references that do not resolve', async () => {
    const result = await env({
      env: [
        { name: 'A', valueFrom: { secretKeyRef: { name: 'missing', key: 'k', optional: true } } },
        { name: 'B', valueFrom: { secretKeyRef: { name: 'creds', key: 'missing', optional: true } } },
        { name: 'C', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k', optional: true } } },
      ],
      envFrom: [{ secretRef: { name: 'missing', optional: true } }],
    });
    expect(result.has('A') || result.has('B') || result.has('C')).toBe(false);
  });

  it('fails as CreateContainerConfigError on a missing Secret or key', async () => {
    await expect(
      env({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }),
    ).rejects.toThrow(new ContainerConfigError('secret "nope" not found'));
    await expect(
      env({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } }] }),
    ).rejects.toThrow("couldn't find key token in Secret prod/creds");
    await expect(env({ envFrom: [{ configMapRef: { name: 'nope' } }] })).rejects.toThrow(
      'configmap "nope" not found',
    );
  });
});

describe('fieldRefValue', () => {
  it('renders label and annotation maps like the downward API', () => {
    expect(fieldRefValue('metadata.labels', ctx)).toBe('app="web"\ntier="front"');
    expect(fieldRefValue('metadata.annotations', ctx)).toBe('note="a \\"quoted\\" value"');
    expect(fieldRefValue("metadata.annotations['none']", ctx)).toBe('');
    expect(fieldRefValue('metadata.uid', ctx)).toBe('uid-1');
    expect(fieldRefValue('spec.serviceAccountName', ctx)).toBe('web');
  });

  it('rejects unknown paths', () => {
    expect(() => fieldRefValue('spec.containers', ctx)).toThrow(ContainerConfigError);
  });
});

describe('resourceFieldValue', () => {
  const container: V1Container = {
    name: 'app',
    resources: { limits: { cpu: '500m', memory: '1Gi' }, requests: { memory: '256Mi' } },
  };
  it('divides and rounds up like the kubelet', () => {
    expect(resourceFieldValue(container, 'limits.cpu', undefined, {})).toBe('1');
    expect(resourceFieldValue(container, 'limits.cpu', '1m', {})).toBe('500');
    expect(resourceFieldValue(container, 'limits.memory', '1Mi', {})).toBe('1024');
    expect(resourceFieldValue(container, 'requests.memory', '1Mi', {})).toBe('256');
  });
  it('falls back to the node allocatable for a missing limit', () => {
    expect(resourceFieldValue({ name: 'x' }, 'limits.cpu', undefined, { cpu: '2' })).toBe('2');
    expect(resourceFieldValue({ name: 'x' }, 'limits.memory', '1Gi', { memory: '8Gi' })).toBe('8');
  });
});
