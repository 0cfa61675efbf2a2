// The log tail a failed Job's condition quotes, read as the reconcilers read it (kubeJobApi over
// the driver's own KubeClient, no generated API client) from a real apiserver, which proxies
// pods/log to the process kubelet.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import type { Pod } from '../../../src/informers/resources.ts';
import { corePath, kubeJobApi } from '../../../src/reconcile/jobs/job-api.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';

let cluster: LocalCluster;
let client: KubeClient;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'job-log-tail' });
  client = new KubeClient(cluster.kubeConfig);
});

afterAll(async () => {
  client?.destroy();
  await cluster?.stop();
});

describe('kubeJobApi.podLogTail', () => {
  it("returns the last lines of a finished pod's log, and '' for a pod that does not exist", async () => {
    await client.request('POST', corePath('default', 'pods'), {
      body: {
        metadata: { name: 'talks' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: 'busybox',
              command: ['sh', '-c', 'for i in 1 2 3 4; do echo line $i; done; exit 3'],
            },
          ],
        },
      },
    });
    await waitFor(
      'pod default/talks to fail',
      async () => {
        const pod = await client.request<Pod>('GET', `${corePath('default', 'pods')}/talks`);
        return pod.status?.phase === 'Failed' ? pod : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const logger = pino({ level: 'silent' });
    const api = kubeJobApi(client, { logs: client, logger });
    const signal = new AbortController().signal;
    expect(await api.podLogTail('default', 'talks', 2, signal)).toBe('line 3\nline 4\n');
    expect(await api.podLogTail('default', 'no-such-pod', 2, signal)).toBe('');
    // Without a log reader there is no tail, and no error.
    expect(await kubeJobApi(client, { logger }).podLogTail('default', 'talks', 2, signal)).toBe('');
  });
});
