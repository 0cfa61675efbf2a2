// The driver's RSS on a cluster full of objects it does not manage, against an empty cluster's,
// both measured in this run (issue 16, item 2; goal: within 20 MB).
//
//   node bench/cluster-memory.ts [--pods 20000] [--claims 5000] [--concurrency 64]
//
// A local cluster (real kube-apiserver, etcd, controller-manager; no kubelet) gets the project's
// CRDs. A child process runs the driver's informers (createSharedInformers, as runDriver wires
// them), waits for them to sync, lets V8 return the sync's garbage and reports its RSS. It runs
// three times: on the empty cluster (the baseline); after the bench created the unrelated pods and
// claims (Pending: the pods name no scheduler, so nothing else writes them); and once more with a
// cluster-wide Pod and claim informer added, which is what the driver cached before the filters.
import { fork } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSharedInformers } from '../src/app/shared-informers.ts';
import { InformerFactory } from '../src/informers/informer-factory.ts';
import { KubeClient } from '../src/informers/kube-client.ts';
import { persistentVolumeClaims, pods } from '../src/informers/resources.ts';
import { loadKubeConfig } from '../src/kube/kube-config.ts';
import { createLogger } from '../src/telemetry/logger.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback;
const podCount = flag('--pods', 20_000);
const claimCount = flag('--claims', 5_000);
const concurrency = flag('--concurrency', 64);
const NAMESPACES = 10;
const DRIVER = 'etcd-snapshot.bench.io';

interface Sample {
  rss: number;
  heapUsed: number;
  syncMs: number;
  cachedPods: number;
  cachedClaims: number;
}

/** Child: the driver's informers, synced and settled; reports one sample and exits. */
async function child(kubeconfig: string, unfiltered: boolean): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const client = new KubeClient(loadKubeConfig(kubeconfig));
  const factory = new InformerFactory(client);
  const log = createLogger({ level: 'error', format: 'json' });
  const started = performance.now();
  const informers = await createSharedInformers(factory, client, undefined, { log, driverName: DRIVER });
  // A factory of its own: the driver's factory holds claims under its keep filter.
  const wide = new InformerFactory(client);
  const everything = unfiltered ? [wide.informerFor(pods), wide.informerFor(persistentVolumeClaims)] : [];
  factory.start();
  wide.start();
  await Promise.all([factory.waitForSync(), wide.waitForSync()]);
  const syncMs = performance.now() - started;
  // As in informer-memory.ts: full GCs and idle seconds, so the sync's garbage is returned.
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const { rss, heapUsed } = process.memoryUsage();
  const sample: Sample = {
    rss,
    heapUsed,
    syncMs,
    cachedPods: everything[0]?.store.size ?? informers.pods.store.size,
    cachedClaims: everything[1]?.store.size ?? informers.persistentVolumeClaims.store.size,
  };
  await Promise.all([factory.stop(), wide.stop()]);
  await informers.druidEtcds.stop();
  client.destroy();
  process.send?.(sample, () => process.exit(0));
}

function measure(kubeconfig: string, unfiltered = false): Promise<Sample> {
  const proc = fork(import.meta.filename, ['--child', kubeconfig, ...(unfiltered ? ['--unfiltered'] : [])], {
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve(m as Sample));
    proc.once('exit', (code) => reject(new Error(`measuring child exited with ${code} before reporting`)));
  });
}

/** Runs `make(i)` for i in [0, n) with at most `limit` in flight. */
async function pool(n: number, limit: number, make: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await make(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

async function main(): Promise<void> {
  const cluster = await startLocalCluster({ name: 'cluster-memory', kubelet: false });
  const client = new KubeClient(cluster.kubeConfig);
  try {
    await cluster.kubectl(['apply', '-k', 'deploy/crds']);
    const empty = await measure(cluster.kubeconfigPath);
    console.log('empty cluster:', JSON.stringify(empty));

    const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `unrelated-${i}`);
    for (const name of namespaces)
      await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name } } });
    const setupStarted = performance.now();
    // The ServiceAccount admission refuses pods until a namespace's default account exists.
    for (const ns of namespaces) {
      while (true) {
        const ok = await client
          .request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)
          .then(() => true)
          .catch(() => false);
        if (ok) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await pool(podCount, concurrency, (i) =>
      client.request('POST', `/api/v1/namespaces/${namespaces[i % NAMESPACES]}/pods`, {
        body: unrelatedPod(i),
      }),
    );
    const podsMs = performance.now() - setupStarted;
    await pool(claimCount, concurrency, (i) =>
      client.request('POST', `/api/v1/namespaces/${namespaces[i % NAMESPACES]}/persistentvolumeclaims`, {
        body: unrelatedClaim(i),
      }),
    );
    const setupMs = performance.now() - setupStarted;

    console.log(`setup: ${(setupMs / 1000).toFixed(1)} s (pods ${(podsMs / 1000).toFixed(1)} s)`);
    const loaded = await measure(cluster.kubeconfigPath);
    console.log('driver informers:', JSON.stringify(loaded));
    const before = await measure(cluster.kubeconfigPath, true);
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
    const delta = (s: Sample) => `${s.rss >= empty.rss ? '+' : ''}${mb(s.rss - empty.rss)}`;
    const line = (what: string, s: Sample) =>
      console.log(
        `  ${what.padEnd(36)} RSS ${mb(s.rss).padStart(9)} (${delta(s).padStart(9)}, ${(s.rss / empty.rss).toFixed(2)}×)  heap ${mb(s.heapUsed).padStart(9)}  pods cached ${String(s.cachedPods).padStart(6)}  claims cached ${String(s.cachedClaims).padStart(5)}  sync ${(s.syncMs / 1000).toFixed(1)} s`,
      );
    console.log(
      `cluster memory: ${podCount} unrelated pods and ${claimCount} unrelated claims created in ${(setupMs / 1000).toFixed(1)} s (pods ${(podsMs / 1000).toFixed(1)} s, ${concurrency} requests in flight)`,
    );
    line('empty cluster (baseline)', empty);
    line('driver informers, unrelated objects', loaded);
    line('+ cluster-wide Pods and claims', before);
    console.log(`  goal: driver informers within 20 MB of the baseline: ${delta(loaded)}`);
  } finally {
    client.destroy();
    await cluster.stop();
  }
}

/** A pod as a typical workload's: a few labels, two containers, env, probes; never scheduled. */
function unrelatedPod(i: number): Record<string, unknown> {
  const app = `web-${i % 200}`;
  return {
    metadata: {
      name: `${app}-${i.toString(36).padStart(5, '0')}`,
      labels: {
        app,
        'app.kubernetes.io/name': app,
        'pod-template-hash': (i % 997).toString(16),
        tier: 'frontend',
      },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
    },
    spec: {
      // No such scheduler: the pod stays Pending and no controller writes it.
      schedulerName: 'not-scheduled',
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'app',
          image: `registry.example.com/team/${app}:1.${i % 40}.0`,
          args: ['--port=8080', '--log-level=info'],
          ports: [{ name: 'http', containerPort: 8080 }],
          env: [
            { name: 'APP_NAME', value: app },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 10 },
        },
        {
          name: 'sidecar',
          image: 'registry.example.com/infra/proxy:2.3.1',
          ports: [{ containerPort: 15001 }],
        },
      ],
    },
  };
}

function unrelatedClaim(i: number): Record<string, unknown> {
  return {
    metadata: { name: `data-${i.toString(36).padStart(5, '0')}`, labels: { app: `db-${i % 100}` } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: '',
      resources: { requests: { storage: '10Gi' } },
    },
  };
}

if (args.includes('--child'))
  await child(args[args.indexOf('--child') + 1] ?? '', args.includes('--unfiltered'));
else await main();
