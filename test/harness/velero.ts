// The real Velero server (the tools cache's `velero`, hack/tools/velero) as a process against a
// local cluster, as `velero install` would set it up, its Deployment scaled to 0: its CRDs from
// `velero install --crds-only --dry-run -o yaml` of the same binary, a plugin directory holding
// velero-plugin-for-aws, and one BackupStorageLocation on the harness S3 server (s3-server.ts)
// whose keys Velero reads from a Secret through the location's `credential`. CSI snapshots are
// the `EnableCSI` feature flag, still a flag of the server in v1.18. No node-agent: no file-system
// backup and no data mover.
//
//   const velero = await startVelero(cluster, s3);
//   await velero.cli(['backup', 'create', 'b1', '--include-namespaces', 'app', '--wait']);
//   await velero.stop();
//
// The server runs in a network namespace of its own (netns-bridge.ts) that reaches only the
// apiserver and the S3 server: its controller-runtime manager serves metrics on :8080 of every
// interface and no flag of `velero server` moves it, and on this machine the driver pods of every
// local cluster listen on <pod IP>:8080, which refuses that bind (so would a second server).
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { waitCrdsEstablished } from './kubectl.ts';
import type { LocalCluster } from './local-cluster.ts';
import { bridgeNetwork, type NetworkBridge } from './netns-bridge.ts';
import { type ManagedProcess, type ProcessExit, startProcess, waitFor } from './process.ts';
import type { S3Server } from './s3-server.ts';
import { ensureTools, tool } from './tools.ts';

export const VELERO_NAMESPACE = 'velero';
export const VELERO_LOCATION = 'default';
/** The label that makes a VolumeSnapshotClass the one Velero's CSI plugin picks for its driver. */
export const VELERO_CSI_CLASS_LABEL = 'velero.io/csi-volumesnapshot-class';
const CREDENTIALS_SECRET = 'cloud-credentials';
const CREDENTIALS_KEY = 'cloud';

export interface VeleroBackup {
  metadata: { name: string; uid?: string; labels?: Record<string, string> };
  status?: {
    phase?: string;
    errors?: number;
    warnings?: number;
    failureReason?: string;
    validationErrors?: string[];
    csiVolumeSnapshotsAttempted?: number;
    csiVolumeSnapshotsCompleted?: number;
  };
}

export interface VeleroRestore {
  metadata: { name: string };
  status?: { phase?: string; errors?: number; warnings?: number; failureReason?: string };
}

export interface Velero {
  readonly namespace: string;
  readonly location: string;
  /** The bucket and the prefix under which the location keeps `backups/<name>/…`. */
  readonly bucket: string;
  readonly prefix: string;
  readonly logFile: string;
  /** The process group of the server, its plugins and its forwarder (netns-bridge.ts). */
  readonly pid: number;
  /** From the server's spawn to its location being Available, in ms. */
  readonly startMs: number;
  /** The velero CLI against this server (its kubeconfig and namespace); rejects with stderr. */
  cli(args: readonly string[], options?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  /** The Backup object, or undefined while it does not exist. */
  backup(name: string): Promise<VeleroBackup | undefined>;
  /** Waits until a backup has reached one of Velero's final phases and returns it. */
  waitBackupFinished(name: string, timeoutMs?: number): Promise<VeleroBackup>;
  restore(name: string): Promise<VeleroRestore | undefined>;
  /** Waits until a restore has reached one of Velero's final phases and returns it. */
  waitRestoreFinished(name: string, timeoutMs?: number): Promise<VeleroRestore>;
  /** The last few KB of the server's log, for failure messages. */
  logTail(): string;
  stop(): Promise<ProcessExit>;
}

export interface VeleroOptions {
  /** Prefix of the location inside the S3 server's bucket; default 'velero'. */
  prefix?: string;
  /** More `velero server` flags. */
  serverArgs?: readonly string[];
}

const FINAL_PHASES = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'];

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-6000);
  } catch {
    return '';
  }
}

function runVelero(
  home: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // HOME of its own: the CLI reads $HOME/.config/velero/config.json, which must not be the user's.
    execFile(
      tool('velero'),
      args,
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH, HOME: home } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`velero ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** Applies the CRDs `velero install --crds-only` of the tools cache's binary makes, established. */
export async function installVeleroCrds(cluster: LocalCluster, home: string): Promise<void> {
  await ensureTools(['velero']);
  const { stdout: yaml } = await runVelero(
    home,
    ['install', '--crds-only', '--dry-run', '-o', 'yaml'],
    60_000,
  );
  // Server-side: some of Velero's CRDs are larger than client-side apply's annotation may be.
  const applied = await cluster.kubectl(['apply', '--server-side', '-o', 'name', '-f', '-'], { input: yaml });
  const names = applied.stdout
    .split('\n')
    .filter((line) => line.startsWith('customresourcedefinition.apiextensions.k8s.io/'))
    .map((line) => line.slice(line.indexOf('/') + 1));
  if (!names.includes('backupstoragelocations.velero.io')) {
    throw new Error(`velero install --crds-only gave no BackupStorageLocation CRD: ${applied.stdout}`);
  }
  await waitCrdsEstablished((args) => cluster.kubectl(args), names);
}

/**
 * The Deployment `velero install` makes, scaled to 0: the server runs as a process here, but its
 * restore reads this Deployment (pod_volume_restore_action.go, NewPodVolumeRestoreAction: the
 * restore helper's image is the first container's) and fails every restore without it.
 */
function serverDeployment(): object {
  const labels = { component: 'velero', deploy: 'velero' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'velero', namespace: VELERO_NAMESPACE, labels: { component: 'velero' } },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'velero', image: 'velero/velero:v1.18.3', command: ['/velero'] }] },
      },
    },
  };
}

function locationObjects(s3: S3Server, prefix: string): object[] {
  const credentials = [
    '[default]',
    `aws_access_key_id=${s3.credentials.accessKeyId}`,
    `aws_secret_access_key=${s3.credentials.secretAccessKey}`,
    '',
  ].join('\n');
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: VELERO_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: CREDENTIALS_SECRET, namespace: VELERO_NAMESPACE },
      stringData: { [CREDENTIALS_KEY]: credentials },
    },
    serverDeployment(),
    {
      apiVersion: 'velero.io/v1',
      kind: 'BackupStorageLocation',
      metadata: { name: VELERO_LOCATION, namespace: VELERO_NAMESPACE },
      spec: {
        provider: 'aws',
        default: true,
        objectStorage: { bucket: s3.bucket, prefix },
        credential: { name: CREDENTIALS_SECRET, key: CREDENTIALS_KEY },
        // The plugin's keys for an S3-compatible store on a plain-HTTP endpoint.
        config: { region: s3.region, s3ForcePathStyle: 'true', s3Url: s3.endpoint },
      },
    },
  ];
}

export async function startVelero(
  cluster: LocalCluster,
  s3: S3Server,
  options: VeleroOptions = {},
): Promise<Velero> {
  await ensureTools(['velero']);
  const prefix = options.prefix ?? 'velero';
  const dir = join(cluster.dir, 'velero');
  const home = join(dir, 'home');
  const pluginDir = join(dir, 'plugins');
  const tmp = join(dir, 'tmp'); // the server keeps credentials from Secrets in $TMPDIR/credentials
  // logs/ too: a directory of an existing cluster (existing-cluster.ts) has none.
  for (const d of [home, pluginDir, tmp, join(cluster.dir, 'logs')]) mkdirSync(d, { recursive: true });
  const plugin = join(pluginDir, 'velero-plugin-for-aws');
  rmSync(plugin, { force: true }); // a second server on the same cluster
  symlinkSync(tool('velero-plugin-for-aws'), plugin);
  const logFile = join(cluster.dir, 'logs', 'velero.log');
  const common = [`--kubeconfig=${cluster.kubeconfigPath}`, `--namespace=${VELERO_NAMESPACE}`];

  await installVeleroCrds(cluster, home);
  await cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: locationObjects(s3, prefix) }),
  });

  const kubectlJson = async <T>(args: readonly string[]): Promise<T | undefined> => {
    const r = await cluster.kubectl([
      'get',
      ...args,
      '-n',
      VELERO_NAMESPACE,
      '-o',
      'json',
      '--ignore-not-found',
    ]);
    return r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as T);
  };
  const locationPhase = async () =>
    (await kubectlJson<{ status?: { phase?: string } }>(['backupstoragelocation', VELERO_LOCATION]))?.status
      ?.phase;

  const t0 = performance.now();
  const { proc: server, bridge } = await startServer(cluster, s3, dir, {
    logFile,
    home,
    tmp,
    args: [
      'server',
      ...common,
      '--features=EnableCSI',
      `--plugin-dir=${pluginDir}`,
      '--profiler-address=', // no pprof server: nothing here reads it
      '--log-level=debug',
      // Velero polls its asynchronous item operations (a CSI snapshot becoming ready) this often;
      // its 10 s default would add up to 10 s to every backup of a test.
      '--item-operation-sync-frequency=2s',
      ...(options.serverArgs ?? []),
    ],
    ready: async () => ((await locationPhase()) === 'Available' ? true : undefined),
  });
  const startMs = performance.now() - t0;

  const backup = (name: string) => kubectlJson<VeleroBackup>(['backups.velero.io', name]);
  const restore = (name: string) => kubectlJson<VeleroRestore>(['restores.velero.io', name]);
  const waitFinished = <T extends { status?: { phase?: string } }>(
    what: string,
    read: () => Promise<T | undefined>,
    timeoutMs: number,
  ) =>
    waitFor(
      `${what} to finish`,
      async () => {
        const o = await read();
        return o?.status?.phase && FINAL_PHASES.includes(o.status.phase) ? o : undefined;
      },
      {
        timeoutMs,
        intervalMs: 500,
        abortIf: () => (server.hasExited ? `velero server exited:\n${readTail(logFile)}` : undefined),
      },
    );
  return {
    namespace: VELERO_NAMESPACE,
    location: VELERO_LOCATION,
    bucket: s3.bucket,
    prefix,
    logFile,
    pid: server.pid,
    startMs,
    cli: (args, { timeoutMs = 300_000 } = {}) => runVelero(home, [...args, ...common], timeoutMs),
    backup,
    waitBackupFinished: (name, timeoutMs = 300_000) =>
      waitFinished(`Velero backup ${name}`, () => backup(name), timeoutMs),
    restore,
    waitRestoreFinished: (name, timeoutMs = 600_000) =>
      waitFinished(`Velero restore ${name}`, () => restore(name), timeoutMs),
    logTail: () => readTail(logFile),
    stop: async () => {
      const exit = await server.stop(10_000);
      await bridge.close();
      return exit;
    },
  };
}

interface ServerStart {
  logFile: string;
  home: string;
  tmp: string;
  args: readonly string[];
  ready: () => Promise<true | undefined>;
}

/** Starts `velero server` in its own network namespace, bridged to the apiserver and S3, until `ready`. */
async function startServer(
  cluster: LocalCluster,
  s3: S3Server,
  dir: string,
  start: ServerStart,
): Promise<{ proc: ManagedProcess; bridge: NetworkBridge }> {
  const hostPort = (url: string) => {
    const u = new URL(url);
    return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
  };
  const bridge = await bridgeNetwork(dir, [hostPort(cluster.apiserverUrl), hostPort(s3.endpoint)]);
  const proc = startProcess('velero', 'unshare', bridge.wrap(tool('velero'), start.args), {
    logFile: start.logFile,
    env: { PATH: process.env.PATH, HOME: start.home, TMPDIR: start.tmp },
  });
  try {
    await waitFor('the Velero server to find its backup storage location Available', start.ready, {
      timeoutMs: 180_000,
      intervalMs: 500,
      abortIf: () => (proc.hasExited ? `velero server exited:\n${readTail(start.logFile)}` : undefined),
    });
    return { proc, bridge };
  } catch (err) {
    await proc.stop();
    await bridge.close();
    throw err;
  }
}
