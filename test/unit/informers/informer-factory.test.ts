import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { InformerConflictError, InformerFactory } from '../../../src/informers/informer-factory.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import { jobs, pods } from '../../../src/informers/resources.ts';

function factory(): InformerFactory {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: false },
    { name: 'u' },
  );
  return new InformerFactory(new KubeClient(kc));
}

describe('InformerFactory', () => {
  it('shares one informer per resource and selectors', () => {
    const f = factory();
    const a = f.informerFor(jobs);
    expect(f.informerFor(jobs)).toBe(a);
    expect(f.informerFor(jobs, { labelSelector: 'x=y' })).not.toBe(a);
    expect(f.informerFor(jobs, { namespace: 'n' })).not.toBe(a);
    expect(f.informerFor(pods)).not.toBe(a);
    expect(f.informers()).toHaveLength(4);
  });

  it('refuses a second definition of the same resource with another transform', () => {
    const f = factory();
    f.informerFor(jobs);
    expect(() => f.informerFor({ ...jobs, transform: (j) => j })).toThrow(InformerConflictError);
  });
});
