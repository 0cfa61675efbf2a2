// The process kubelet and the local-path provisioner against the real control plane: pods run to
// their phases as on a real node, the real Job controller counts them, kubectl logs works through
// the apiserver, PVCs bind to host directories, deletion kills processes, Secrets reach
// containers, and a restricted-PSA pod runs.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BatchV1Api, CoreV1Api, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NODE_NAME } from '../../harness/kubelet/launch.ts';
import { detectMemoryCgroups } from '../../harness/kubelet/memory-cgroup.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';

const execFileAsync = promisify(execFile);

let cluster: LocalCluster;
let core: CoreV1Api;
let batch: BatchV1Api;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'kubelet' });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
});

afterAll(async () => {
  await cluster?.stop();
});

async function createPod(pod: V1Pod, namespace = 'default'): Promise<V1Pod> {
  return core.createNamespacedPod({ namespace, body: pod });
}

async function waitForPod(
  name: string,
  done: (pod: V1Pod) => boolean,
  { namespace = 'default', timeoutMs = 60_000 } = {},
): Promise<V1Pod> {
  return waitFor(
    `pod ${namespace}/${name}`,
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace });
      return done(pod) ? pod : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

const terminal = (pod: V1Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

function pidOf(pod: V1Pod, container = 0): number {
  const id = pod.status?.containerStatuses?.[container]?.containerID ?? '';
  const pid = Number(id.replace('process://', ''));
  expect(pid).toBeGreaterThan(0);
  return pid;
}

/** A process that exists and is not a zombie (an orphan's zombie may linger until init reaps it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes whose command line is exactly `argv`. */
function processesRunning(...argv: string[]): number[] {
  const wanted = `${argv.join('\0')}\0`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === wanted && alive(Number(pid));
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('process kubelet', () => {
  it('registers a Ready node with its address and kubelet endpoint', async () => {
    const node = await core.readNode({ name: DEFAULT_NODE_NAME });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: cluster.hostIP });
    expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10250);
    expect(node.metadata?.labels?.['kubernetes.io/hostname']).toBe(DEFAULT_NODE_NAME);
  });

  it('runs a pod to Succeeded with its termination message, IP, conditions and exit code', async () => {
    await createPod({
      metadata: { name: 'succeeds' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'busybox:1.37',
            command: [
              'sh',
              '-c',
              'echo "$GREETING from $(POD_NAME)"; printf \'{"ok":true}\' > /dev/termination-log',
            ],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'GREETING', value: 'hello' },
            ],
          },
        ],
      },
    });
    const pod = await waitForPod('succeeds', terminal);
    expect(pod.status?.phase).toBe('Succeeded');
    const state = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(state?.exitCode).toBe(0);
    expect(state?.reason).toBe('Completed');
    expect(state?.message).toBe('{"ok":true}');
    expect(pod.status?.podIP).toMatch(new RegExp(`^${cluster.subnet.replace('.', '\\.')}\\.\\d+\\.\\d+$`));
    expect(pod.status?.hostIP).toBe(cluster.hostIP);
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect(pod.status?.conditions?.find((c) => c.type === 'Initialized')?.status).toBe('True');
  });

  it('reports a failing container as Failed with exit code and the log tail when asked', async () => {
    await createPod({
      metadata: { name: 'fails' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'echo something broke >&2; exit 3'],
            terminationMessagePolicy: 'FallbackToLogsOnError',
          },
        ],
      },
    });
    const pod = await waitForPod('fails', terminal);
    expect(pod.status?.phase).toBe('Failed');
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
      message: 'something broke\n',
    });
  });

  it('serves container logs through the apiserver to kubectl logs', async () => {
    await createPod({
      metadata: { name: 'talks' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          { name: 'main', image: 'busybox', command: ['sh', '-c', 'for i in 1 2 3; do echo line $i; done'] },
        ],
      },
    });
    await waitForPod('talks', terminal);
    const kubectl = join(cluster.toolsBinDir, 'kubectl');
    const run = async (...args: string[]) =>
      (await execFileAsync(kubectl, [`--kubeconfig=${cluster.kubeconfigPath}`, ...args])).stdout;
    expect(await run('logs', 'talks')).toBe('line 1\nline 2\nline 3\n');
    expect(await run('logs', 'talks', '--tail=1')).toBe('line 3\n');
    expect(await run('logs', 'talks', '--timestamps')).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z line 1\n/);
  });

  it('restarts an OnFailure container until it succeeds, counting restarts', async () => {
    // Fails on the first run (no marker in the emptyDir yet), succeeds on the second.
    await createPod({
      metadata: { name: 'retries' },
      spec: {
        restartPolicy: 'OnFailure',
        volumes: [{ name: 'scratch', emptyDir: {} }],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'if [ -e /scratch/ran ]; then exit 0; fi; touch /scratch/ran; exit 1'],
            volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
          },
        ],
      },
    });
    const pod = await waitForPod('retries', terminal);
    expect(pod.status?.phase).toBe('Succeeded');
    const status = pod.status?.containerStatuses?.[0];
    expect(status?.restartCount).toBe(1);
    expect(status?.lastState?.terminated?.exitCode).toBe(1);
  });

  it('runs init containers in order before the app container', async () => {
    await createPod({
      metadata: { name: 'with-init' },
      spec: {
        restartPolicy: 'Never',
        volumes: [{ name: 'shared', emptyDir: {} }],
        initContainers: [
          {
            name: 'first',
            image: 'busybox',
            command: ['sh', '-c', 'echo first >> /shared/order'],
            volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
          },
          {
            name: 'second',
            image: 'busybox',
            command: ['sh', '-c', 'echo second >> /shared/order'],
            volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
          },
        ],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'echo main >> /shared/order; cat /shared/order > /dev/termination-log'],
            volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
          },
        ],
      },
    });
    const pod = await waitForPod('with-init', terminal);
    expect(pod.status?.phase).toBe('Succeeded');
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.message).toBe('first\nsecond\nmain\n');
    expect(pod.status?.initContainerStatuses?.map((s) => s.state?.terminated?.reason)).toEqual([
      'Completed',
      'Completed',
    ]);
  });

  it('runs a Job to Complete through the real Job controller, and fails one past its backoffLimit', async () => {
    const job = (name: string, script: string, backoffLimit: number): V1Job => ({
      metadata: { name },
      spec: {
        backoffLimit,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', script] }],
          },
        },
      },
    });
    await batch.createNamespacedJob({ namespace: 'default', body: job('job-ok', 'echo done', 0) });
    await batch.createNamespacedJob({ namespace: 'default', body: job('job-fails', 'exit 1', 1) });
    const condition = (name: string) =>
      waitFor(
        `job ${name} to finish`,
        async () => {
          const j = await batch.readNamespacedJob({ name, namespace: 'default' });
          return j.status?.conditions?.find(
            (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
          )
            ? j
            : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
    const [ok, failed] = await Promise.all([condition('job-ok'), condition('job-fails')]);
    expect(ok.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')).toBe(true);
    expect(ok.status?.succeeded).toBe(1);
    expect(failed.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')?.reason).toBe(
      'BackoffLimitExceeded',
    );
    expect(failed.status?.failed).toBe(2);
  });

  it('binds a PVC of the default class to a host directory the pod writes into', async () => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    await createPod({
      metadata: { name: 'writes' },
      spec: {
        restartPolicy: 'Never',
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'echo persisted > /data/file'],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
      },
    });
    const pod = await waitForPod('writes', terminal);
    expect(pod.status?.phase).toBe('Succeeded');
    const claim = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: 'default' });
    expect(claim.status?.phase).toBe('Bound');
    const pv = await core.readPersistentVolume({ name: claim.spec!.volumeName! });
    expect(pv.spec?.storageClassName).toBe('local-path');
    const dir = pv.spec!.hostPath!.path;
    expect(dir.startsWith(cluster.localPathDir)).toBe(true);
    expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('persisted\n');

    // Reclaim policy Delete: once the claim goes, so do the PV and its directory.
    await core.deleteNamespacedPod({ name: 'writes', namespace: 'default' });
    await core.deleteNamespacedPersistentVolumeClaim({ name: 'data', namespace: 'default' });
    await waitFor('the PV directory to be removed', () => (existsSync(dir) ? undefined : true), {
      timeoutMs: 60_000,
    });
  });

  it('kills a deleted pod’s processes within its grace period', async () => {
    await createPod({
      metadata: { name: 'sleeper' },
      spec: {
        terminationGracePeriodSeconds: 3,
        containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'sleep 3600 & wait'] }],
      },
    });
    const running = await waitForPod('sleeper', (p) => p.status?.phase === 'Running');
    expect(running.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const pid = pidOf(running);
    expect(alive(pid)).toBe(true);
    const started = Date.now();
    await core.deleteNamespacedPod({ name: 'sleeper', namespace: 'default' });
    await waitFor('the pod process to end', () => (alive(pid) ? undefined : true), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(Date.now() - started).toBeLessThan(3_000 + 2_000);
    await waitFor(
      'the pod object to be gone',
      async () => {
        try {
          await core.readNamespacedPod({ name: 'sleeper', namespace: 'default' });
          return undefined;
        } catch {
          return true;
        }
      },
      { timeoutMs: 10_000 },
    );
  });

  it('terminates a force-deleted pod gracefully: SIGTERM first, and time to exit before SIGKILL', async () => {
    // As the kubelet does: a deletion with grace 0 still gets SIGTERM and the minimum grace, even
    // though the object is gone from the API at once. The container's TERM handler waits for a
    // sentinel the test writes only after seeing the handler run, so a SIGKILL that came with the
    // SIGTERM leaves no "clean" marker.
    const markers = join(cluster.dir, 'force-deleted-markers');
    mkdirSync(markers, { recursive: true });
    const handler =
      'echo > /markers/term; until [ -e /markers/go ]; do sleep 0.02; done; echo > /markers/clean; exit 0';
    await createPod({
      metadata: { name: 'force-deleted' },
      spec: {
        terminationGracePeriodSeconds: 30,
        volumes: [{ name: 'markers', hostPath: { path: markers, type: 'Directory' } }],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            // "trapped": the handler is in place (a SIGTERM before that would end sh at once).
            command: ['sh', '-c', `trap '${handler}' TERM; echo > /markers/trapped; sleep 3600 & wait`],
            volumeMounts: [{ name: 'markers', mountPath: '/markers' }],
          },
        ],
      },
    });
    const running = await waitForPod('force-deleted', (p) => p.status?.phase === 'Running');
    const pid = pidOf(running);
    await waitFor(
      'the TERM handler to be set',
      () => (existsSync(join(markers, 'trapped')) ? true : undefined),
      {
        timeoutMs: 10_000,
        intervalMs: 10,
      },
    );
    await core.deleteNamespacedPod({ name: 'force-deleted', namespace: 'default', gracePeriodSeconds: 0 });
    await waitFor(
      'the container to get SIGTERM',
      () => (existsSync(join(markers, 'term')) ? true : undefined),
      {
        timeoutMs: 10_000,
        intervalMs: 10,
      },
    );
    writeFileSync(join(markers, 'go'), '');
    await waitFor('the pod process to end', () => (alive(pid) ? undefined : true), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(existsSync(join(markers, 'clean')), 'the TERM handler ran to its end before any SIGKILL').toBe(
      true,
    );
    await expect(core.readNamespacedPod({ name: 'force-deleted', namespace: 'default' })).rejects.toThrow();
  });

  it('gives containers Secret values through secretKeyRef env and a secret volume', async () => {
    await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'creds' }, stringData: { username: 'root', password: 's3cret' } },
    });
    await createPod({
      metadata: { name: 'reads-secret' },
      spec: {
        restartPolicy: 'Never',
        volumes: [
          { name: 'creds', secret: { secretName: 'creds', items: [{ key: 'password', path: 'pw' }] } },
        ],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'printf "%s:%s" "$USERNAME" "$(cat /etc/creds/pw)" > /dev/termination-log'],
            env: [{ name: 'USERNAME', valueFrom: { secretKeyRef: { name: 'creds', key: 'username' } } }],
            volumeMounts: [{ name: 'creds', mountPath: '/etc/creds', readOnly: true }],
          },
        ],
      },
    });
    const pod = await waitForPod('reads-secret', terminal);
    expect(pod.status?.phase).toBe('Succeeded');
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.message).toBe('root:s3cret');
  });

  it('mounts a service-account token bound to the pod (the kube-api-access volume)', async () => {
    await createPod({
      metadata: { name: 'has-token' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: [
              'sh',
              '-c',
              'D=/var/run/secrets/kubernetes.io/serviceaccount; test -s $D/ca.crt && cut -d. -f2 $D/token > /dev/termination-log',
            ],
          },
        ],
      },
    });
    const pod = await waitForPod('has-token', terminal);
    expect(pod.status?.phase).toBe('Succeeded');
    const claims = JSON.parse(
      Buffer.from(
        pod.status?.containerStatuses?.[0]?.state?.terminated?.message?.trim() ?? '',
        'base64url',
      ).toString(),
    ) as { sub: string; 'kubernetes.io': { pod: { name: string; uid: string } } };
    expect(claims.sub).toBe('system:serviceaccount:default:default');
    expect(claims['kubernetes.io'].pod).toEqual({ name: 'has-token', uid: pod.metadata?.uid });
  });

  it('gates Ready on the readiness probe and restarts a container whose liveness probe fails', async () => {
    await createPod({
      metadata: { name: 'probed' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'main',
            image: 'busybox',
            // /tmp is private to each run. Ready after 3 s; the liveness probe fails from 5 s on.
            command: [
              'sh',
              '-c',
              'touch /tmp/alive; sleep 3; touch /tmp/ready; sleep 2; rm /tmp/alive; exec sleep 3600',
            ],
            readinessProbe: { exec: { command: ['test', '-e', '/tmp/ready'] }, periodSeconds: 1 },
            livenessProbe: {
              exec: { command: ['test', '-e', '/tmp/alive'] },
              initialDelaySeconds: 1,
              periodSeconds: 1,
              failureThreshold: 1,
            },
          },
        ],
      },
    });
    const notReady = await waitForPod('probed', (p) => p.status?.phase === 'Running');
    expect(notReady.status?.containerStatuses?.[0]?.ready).toBe(false);
    await waitForPod('probed', (p) => p.status?.containerStatuses?.[0]?.ready === true, {
      timeoutMs: 10_000,
    });
    const restarted = await waitForPod(
      'probed',
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      {
        timeoutMs: 20_000,
      },
    );
    expect(restarted.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(137);
    // A fresh run has a fresh /tmp: not ready again until its readiness probe passes.
    expect(restarted.status?.containerStatuses?.[0]?.ready).toBe(false);
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=probed',
    });
    const fromKubelet = events.items.filter((e) => e.source?.component === 'kubelet');
    expect(fromKubelet.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['Unhealthy', 'Killing', 'Started']),
    );
    expect(fromKubelet.every((e) => e.source?.host === DEFAULT_NODE_NAME)).toBe(true);
  });

  it('crash-loops an Always container with CrashLoopBackOff and keeps an unknown image in ErrImagePull', async () => {
    await createPod({
      metadata: { name: 'crashes' },
      spec: { containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'exit 2'] }] },
    });
    await createPod({
      metadata: { name: 'no-image' },
      spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] },
    });
    const crashing = await waitForPod(
      'crashes',
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
    );
    expect(crashing.status?.phase).toBe('Running');
    expect(crashing.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(2);
    const pulling = await waitForPod(
      'no-image',
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting !== undefined,
    );
    expect(pulling.status?.phase).toBe('Pending');
    expect(pulling.status?.containerStatuses?.[0]?.state?.waiting?.reason).toMatch(
      /^(ErrImagePull|ImagePullBackOff)$/,
    );
    expect(pulling.status?.containerStatuses?.[0]?.state?.waiting?.message).toContain(
      'docs/process-kubelet.md',
    );
  });

  it('enforces memory limits where cgroups allow: over the limit OOMKilled (137), under it Completed', async () => {
    // `tail -n 1` of an input without a newline holds all of it in memory: 200 MB against 32 Mi.
    const pod = (name: string, bytes: number): V1Pod => ({
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', `head -c ${bytes} /dev/zero | tail -n 1 > /dev/null`],
            resources: { limits: { memory: '32Mi' } },
          },
        ],
      },
    });
    await createPod(pod('over-limit', 200_000_000));
    await createPod(pod('under-limit', 2_000_000));
    const over = await waitForPod('over-limit', terminal);
    const under = await waitForPod('under-limit', terminal);
    expect(under.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    const log = readFileSync(cluster.kubelet!.logFile, 'utf8');
    // The machine decides (memory-cgroup.ts); the kubelet says which way it went.
    const here = detectMemoryCgroups();
    here.cgroups?.remove();
    if (here.cgroups) {
      expect(log).toContain('memory limits enforced by cgroups');
      expect(over.status?.phase).toBe('Failed');
      expect(over.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
        exitCode: 137,
        reason: 'OOMKilled',
      });
    } else {
      expect(log).toContain('memory limits are not enforced');
      expect(over.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe('Completed');
    }
  });

  it('fails a pod past its activeDeadlineSeconds with DeadlineExceeded', async () => {
    await createPod({
      metadata: { name: 'too-slow' },
      spec: {
        restartPolicy: 'Never',
        activeDeadlineSeconds: 1,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }],
      },
    });
    const pod = await waitForPod('too-slow', terminal, { timeoutMs: 15_000 });
    expect(pod.status).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
    expect(alive(pidOf(pod))).toBe(false);
  });

  it('runs a pod that satisfies the restricted Pod Security Standard, as its non-root user', async () => {
    await core.createNamespace({
      body: {
        metadata: {
          name: 'restricted',
          labels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
        },
      },
    });
    await waitFor(
      'the default ServiceAccount of namespace restricted',
      async () =>
        (await core.readNamespacedServiceAccount({ name: 'default', namespace: 'restricted' }))
          ? true
          : undefined,
      { timeoutMs: 30_000 },
    );
    await createPod(
      {
        metadata: { name: 'locked-down' },
        spec: {
          restartPolicy: 'Never',
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 3000,
            fsGroup: 2000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumes: [{ name: 'scratch', emptyDir: {} }],
          containers: [
            {
              name: 'main',
              image: 'busybox',
              command: [
                'sh',
                '-c',
                'touch /scratch/x && ! touch /tmp/read-only-root 2>/dev/null && cat /var/run/secrets/kubernetes.io/serviceaccount/namespace >/dev/null && id -u > /dev/termination-log',
              ],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
            },
          ],
        },
      },
      'restricted',
    );
    const pod = await waitForPod('locked-down', terminal, { namespace: 'restricted' });
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      message: '1000\n',
    });
    expect(pod.status?.phase).toBe('Succeeded');
  });

  // Last: it restarts the node's kubelet.
  it('takes every pod process along when the kubelet crashes, and restarts the pods when it is back', async () => {
    await createPod({
      metadata: { name: 'survivor' },
      spec: {
        containers: [
          { name: 'main', image: 'busybox', command: ['sh', '-c', 'sleep 3601 & exec sleep 3602'] },
        ],
      },
    });
    const before = await waitForPod('survivor', (p) => p.status?.containerStatuses?.[0]?.ready === true);
    await waitFor('the background sleep', () =>
      processesRunning('sleep', '3601').length === 1 ? true : undefined,
    );
    const pid = pidOf(before);

    const background = processesRunning('sleep', '3601');
    await cluster.kubelet!.restart({ crash: true });
    expect(alive(pid)).toBe(false);
    // The background child too: its PID namespace died with its PID 1.
    expect(background.filter(alive)).toEqual([]);
    const after = await waitForPod(
      'survivor',
      (p) => p.status?.containerStatuses?.[0]?.restartCount === 1 && p.status.containerStatuses[0].ready,
      { timeoutMs: 30_000 },
    );
    expect(after.status?.containerStatuses?.[0]?.lastState?.terminated?.reason).toBe(
      'ContainerStatusUnknown',
    );
    expect(after.status?.podIP).toBe(before.status?.podIP);
    expect(pidOf(after)).not.toBe(pid);
    await waitFor('the background sleep', () =>
      processesRunning('sleep', '3601').length === 1 ? true : undefined,
    );
    // Terminal pods stay as they were.
    const done = await core.readNamespacedPod({ name: 'succeeds', namespace: 'default' });
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  });
});
