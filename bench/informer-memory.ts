// Heap bytes per cached Job at 10 000 Jobs, against the Jobs' JSON size, and process RSS.
//
//   node bench/informer-memory.ts [--jobs 10000]
//
// The Jobs are served by a minimal list/watch endpoint in a child process (so their JSON does
// not sit in the measured heap), shaped as kube-apiserver returns a snapshot Job of this driver:
// defaults filled in, status, and managedFields. The informer, HTTP client and transform are the
// real ones, in a process that has loaded the driver's module graph as main.ts does. Goals
// (issue 3): heap ≤ 1.6 × JSON size, RSS ≤ 150 MB.
import { fork } from 'node:child_process';
import http from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { jobs } from '../src/informers/resources.ts';
import { composeTransform, dropManagedFields } from '../src/informers/transform.ts';
import { skipClientNodeGeneratedApi } from '../src/kube/skip-generated-api.ts';

const args = process.argv.slice(2);
const count = Number(args[args.indexOf('--jobs') + 1] || 10_000);

function job(i: number): Record<string, unknown> {
  const id = `snap-${String(i).padStart(6, '0')}`;
  const uid = `3f2a${String(i).padStart(4, '0')}-1c2d-4e5f-8a9b-${String(i * 7919).padStart(12, '0')}`;
  const created = new Date(Date.UTC(2025, 0, 1, 0, 0, i % 60, 0) + i * 1000)
    .toISOString()
    .replace('.000', '');
  const labels = {
    'app.kubernetes.io/name': 'etcd-snapshot-driver',
    'app.kubernetes.io/component': 'snapshot-agent',
    'app.kubernetes.io/managed-by': 'etcd-snapshot-driver',
    'snapshot.etcd-snapshot-driver.io/snapshot': id,
    'snapshot.etcd-snapshot-driver.io/cluster': `etcd-${i % 50}`,
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': `snapshot-save-${id}`,
    'controller-uid': uid,
    'job-name': `snapshot-save-${id}`,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `snapshot-save-${id}`,
      namespace: `team-${i % 20}`,
      uid,
      resourceVersion: String(100_000 + i),
      generation: 1,
      creationTimestamp: created,
      labels: {
        'app.kubernetes.io/name': 'etcd-snapshot-driver',
        'app.kubernetes.io/component': 'snapshot-agent',
        'app.kubernetes.io/managed-by': 'etcd-snapshot-driver',
        'snapshot.etcd-snapshot-driver.io/snapshot': id,
        'snapshot.etcd-snapshot-driver.io/cluster': `etcd-${i % 50}`,
      },
      annotations: {
        'snapshot.etcd-snapshot-driver.io/trace-parent': `00-${uid.replaceAll('-', '')}-0123456789abcdef-01`,
      },
      ownerReferences: [
        {
          apiVersion: 'snapshot.etcd-snapshot-driver.io/v1alpha1',
          kind: 'EtcdSnapshot',
          name: id,
          uid: `9a8b${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'etcd-snapshot-driver',
          operation: 'Apply',
          apiVersion: 'batch/v1',
          time: created,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:labels': Object.fromEntries(
                Object.keys(labels)
                  .slice(0, 5)
                  .map((k) => [`f:${k}`, {}]),
              ),
              'f:ownerReferences': { [`k:{"uid":"9a8b${String(i).padStart(4, '0')}"}`]: {} },
            },
            'f:spec': {
              'f:activeDeadlineSeconds': {},
              'f:backoffLimit': {},
              'f:template': {
                'f:metadata': { 'f:labels': {} },
                'f:spec': {
                  'f:containers': {
                    'k:{"name":"agent"}': {
                      '.': {},
                      'f:args': {},
                      'f:env': { 'k:{"name":"ETCD_ENDPOINTS"}': {}, 'k:{"name":"SNAPSHOT_PATH"}': {} },
                      'f:image': {},
                      'f:name': {},
                      'f:volumeMounts': {},
                    },
                  },
                  'f:restartPolicy': {},
                  'f:serviceAccountName': {},
                  'f:volumes': {},
                },
              },
            },
          },
        },
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'batch/v1',
          time: created,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:status': {
              'f:completionTime': {},
              'f:conditions': {},
              'f:ready': {},
              'f:startTime': {},
              'f:succeeded': {},
              'f:terminating': {},
              'f:uncountedTerminatedPods': {},
            },
          },
          subresource: 'status',
        },
      ],
    },
    spec: {
      parallelism: 1,
      completions: 1,
      activeDeadlineSeconds: 600,
      backoffLimit: 2,
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
      manualSelector: false,
      template: {
        metadata: { creationTimestamp: null, labels },
        spec: {
          volumes: [
            { name: 'snapshots', persistentVolumeClaim: { claimName: `etcd-${i % 50}-snapshots` } },
            {
              name: 'etcd-client-tls',
              secret: { secretName: `etcd-${i % 50}-client-tls`, defaultMode: 420 },
            },
          ],
          containers: [
            {
              name: 'agent',
              image: 'ghcr.io/example/etcd-snapshot-driver:v0.1.0',
              args: ['agent', 'save', `--snapshot-id=${id}`, `--output=/snapshots/${id}.db`],
              env: [
                { name: 'ETCD_ENDPOINTS', value: `https://etcd-${i % 50}-client.team-${i % 20}.svc:2379` },
                { name: 'SNAPSHOT_PATH', value: `/snapshots/${id}.db` },
                { name: 'TRACEPARENT', value: `00-${uid.replaceAll('-', '')}-0123456789abcdef-01` },
              ],
              resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m', memory: '64Mi' } },
              volumeMounts: [
                { name: 'snapshots', mountPath: '/snapshots' },
                { name: 'etcd-client-tls', readOnly: true, mountPath: '/etc/etcd/tls' },
              ],
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'FallbackToLogsOnError',
              imagePullPolicy: 'IfNotPresent',
              securityContext: {
                capabilities: { drop: ['ALL'] },
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                seccompProfile: { type: 'RuntimeDefault' },
              },
            },
          ],
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
          serviceAccountName: 'etcd-snapshot-agent',
          serviceAccount: 'etcd-snapshot-agent',
          securityContext: {},
          schedulerName: 'default-scheduler',
        },
      },
      completionMode: 'NonIndexed',
      suspend: false,
      podReplacementPolicy: 'TerminatingOrFailed',
    },
    status: {
      conditions: [
        {
          type: 'SuccessCriteriaMet',
          status: 'True',
          lastProbeTime: created,
          lastTransitionTime: created,
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
        },
        {
          type: 'Complete',
          status: 'True',
          lastProbeTime: created,
          lastTransitionTime: created,
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
        },
      ],
      startTime: created,
      completionTime: created,
      succeeded: 1,
      terminating: 0,
      uncountedTerminatedPods: {},
      ready: 0,
    },
  };
}

/** Child process: serves `count` Jobs with list pagination; watches stay open and silent. */
function serve(): void {
  const items = Array.from({ length: count }, (_, i) => JSON.stringify(job(i)));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return; // never answers: the informer just waits
    }
    const limit = Number(url.searchParams.get('limit') ?? count);
    const offset = Number(url.searchParams.get('continue') || 0);
    const page = items.slice(offset, offset + limit);
    const next = offset + limit < items.length ? String(offset + limit) : undefined;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      `{"kind":"JobList","apiVersion":"batch/v1","metadata":{"resourceVersion":"200000"${next ? `,"continue":"${next}"` : ''}},"items":[${page.join(',')}]}`,
    );
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as { port: number }).port });
  });
  process.on('disconnect', () => process.exit(0));
}

async function measure(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const child = fork(import.meta.filename, ['--serve', '--jobs', String(count)], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m: { port: number }) => resolve(m.port)),
  );

  // The driver's process as main.ts makes it: client-node without its generated API, then the
  // driver's whole module graph (src/app/run-driver.ts), then the informer. BENCH_COMPILED=1 loads
  // the compiled graph (`npm run build` first), as the image runs it: type stripping costs ~18 MB.
  // BENCH_GENERATED_API=1: without the hook, to show what it saves.
  if (process.env.BENCH_GENERATED_API !== '1') skipClientNodeGeneratedApi();
  const [root, ext] = process.env.BENCH_COMPILED === '1' ? ['../dist', 'js'] : ['../src', 'ts'];
  await import(`${root}/app/run-driver.${ext}`);
  const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
  const { Informer } = (await import(
    `${root}/informers/informer.${ext}`
  )) as typeof import('../src/informers/informer.ts');
  const { KubeClient } = (await import(
    `${root}/informers/kube-client.${ext}`
  )) as typeof import('../src/informers/kube-client.ts');
  const { kubeListWatch } = (await import(
    `${root}/informers/kube-list-watch.${ext}`
  )) as typeof import('../src/informers/kube-list-watch.ts');
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'bench', server: `http://127.0.0.1:${port}`, skipTLSVerify: true },
    { name: 'bench', token: 'x' },
  );
  const client = new KubeClient(kc);
  const informer = new Informer(jobs, kubeListWatch(client, jobs), {
    reflector: { inactivityTimeoutMs: 3_600_000 },
  });
  // Warm up everything but the cache itself (module code, the HTTP stack) before the baseline.
  await client.request('GET', '/apis/batch/v1/jobs', { query: { limit: 1 } });
  gc();
  const baseline = process.memoryUsage();
  const heapBefore = baseline.heapUsed;
  const started = performance.now();
  informer.start();
  await informer.waitForSync();
  const syncMs = performance.now() - started;
  // Let V8's memory reducer return the pages the sync's garbage grew the heap by, as it does in
  // a running controller a few seconds after a relist.
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const heapAfter = process.memoryUsage().heapUsed;
  const after = process.memoryUsage();
  const { rss } = after;

  const served = Array.from({ length: count }, (_, i) => JSON.stringify(job(i)).length);
  const trimmed = Array.from({ length: count }, (_, i) => JSON.stringify(dropManagedFields(job(i))).length);
  const asCached = composeTransform(jobs.transform);
  const cached = Array.from({ length: count }, (_, i) => JSON.stringify(asCached(job(i) as never)).length);
  const servedBytes = served.reduce((a, b) => a + b, 0);
  const trimmedBytes = trimmed.reduce((a, b) => a + b, 0);
  const cachedBytes = cached.reduce((a, b) => a + b, 0);
  const heapBytes = heapAfter - heapBefore;
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
  console.log(`informer memory: ${informer.store.size} Jobs cached in ${syncMs.toFixed(0)} ms`);
  console.log(`  heap for the cache      ${mb(heapBytes)}  (${Math.round(heapBytes / count)} B per Job)`);
  console.log(
    `  JSON as served          ${mb(servedBytes)}  (${Math.round(servedBytes / count)} B per Job)  heap/JSON = ${(heapBytes / servedBytes).toFixed(2)}×  (goal ≤ 1.6×)`,
  );
  console.log(
    `  JSON without managedFields ${mb(trimmedBytes)}  (${Math.round(trimmedBytes / count)} B per Job)  heap/JSON = ${(heapBytes / trimmedBytes).toFixed(2)}×`,
  );
  console.log(
    `  JSON as cached (src/informers/cached-job.ts) ${mb(cachedBytes)}  (${Math.round(cachedBytes / count)} B per Job)  heap/JSON = ${(heapBytes / cachedBytes).toFixed(2)}×`,
  );
  console.log(
    `  process RSS             ${mb(rss)}  (goal ≤ 150 MB; ${mb(baseline.rss)} before the cache: the driver's module graph${ext === 'ts' ? ', run through type stripping' : ', compiled'})`,
  );
  console.log(
    `  V8 heap total           ${mb(after.heapTotal)} (${mb(baseline.heapTotal)} before); external ${mb(after.external)}`,
  );
  await informer.stop();
  client.destroy();
  child.disconnect();
}

if (args.includes('--serve')) serve();
else await measure();
