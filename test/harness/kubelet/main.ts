// The process kubelet: `node test/harness/kubelet/main.ts --config <kubelet.json>`.
// Registers a Ready Node and keeps its Lease, runs every pod bound to it as local processes (see
// docs/process-kubelet.md), serves container logs to the apiserver. Runs until SIGTERM/SIGINT,
// then kills every pod's processes and exits.
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { readKubeletConfig } from './config.ts';
import { detectIsolation } from './container-process.ts';
import { EventRecorder } from './events.ts';
import { PROVIDED_PROGRAMS, type ProvidedProgram } from './image-table.ts';
import { IpAllocator } from './ip-allocator.ts';
import { describeError, kubeletApi } from './kube-api.ts';
import { startListWatch } from './list-watch.ts';
import { createLog, type Log } from './log.ts';
import { startLogServer } from './log-server.ts';
import { detectMemoryCgroups, type MemoryCgroups } from './memory-cgroup.ts';
import { nodeCapacity, startNodeAgent } from './node-registration.ts';
import { PodManager } from './pod-manager.ts';
import { podObjects } from './pod-objects.ts';

const SHUTDOWN_GRACE_MS = 2_000;

function configPath(argv: readonly string[]): string {
  const i = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  const value = i < 0 ? undefined : argv[i]!.includes('=') ? argv[i]!.slice('--config='.length) : argv[i + 1];
  if (!value) throw new Error('usage: main.ts --config <kubelet config JSON>');
  return value;
}

function findSetpriv(): string {
  for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/sbin/setpriv']) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('setpriv (util-linux) is required and was not found');
}

/** Host paths of the programs images provide, symlinks resolved (they are bind-mounted). */
function findPrograms(toolsBinDir: string, log: Log): Partial<Record<ProvidedProgram, string>> {
  const programs: Partial<Record<ProvidedProgram, string>> = {};
  for (const name of PROVIDED_PROGRAMS) {
    if (name === 'etcd-snapshot-driver') continue;
    try {
      programs[name] = realpathSync(join(toolsBinDir, name));
    } catch {
      log.info('program not built; images using it will fail to start', { program: name, toolsBinDir });
    }
  }
  return programs;
}

/** Retries until the apiserver answers (the kubelet may start before it is reachable). */
async function retrying<T>(what: string, log: Log, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt % 10 === 1) log.warn(`${what} failed; retrying`, { attempt, error: describeError(err) });
      await new Promise((r) => setTimeout(r, Math.min(250 * attempt, 2000)));
    }
  }
}

/** The memory cgroups that enforce containers' limits, or undefined (logged: why not). */
function memoryLimitEnforcement(mode: 'auto' | 'off', log: Log): MemoryCgroups | undefined {
  if (mode === 'off') {
    log.info('memory limits are not enforced (memoryLimits: off)');
    return undefined;
  }
  const detected = detectMemoryCgroups();
  if (detected.cgroups) log.info('memory limits enforced by cgroups', { cgroupRoot: detected.cgroups.root });
  else log.warn('memory limits are not enforced', { reason: detected.reason });
  return detected.cgroups;
}

async function main(): Promise<void> {
  const config = readKubeletConfig(configPath(process.argv.slice(2)));
  const log = createLog('info', { component: 'kubelet', node: config.nodeName });
  const isolation = detectIsolation();
  log.info('starting', { isolation, rootDir: config.rootDir, nodeIP: config.nodeIP });
  if (isolation !== 'root')
    log.warn('not root: containers run in a user namespace; runAsUser/runAsGroup are not honoured');

  // Until the pieces below exist a signal simply ends the process (pdeathsig takes any pod along).
  let stop = async (_signal: string) => process.exit(0);
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  mkdirSync(join(config.rootDir, 'pods'), { recursive: true });
  const memoryCgroups = memoryLimitEnforcement(config.memoryLimits ?? 'auto', log);
  const api = kubeletApi(config.kubeconfig);
  const manager = new PodManager({
    config,
    api,
    objects: podObjects(api),
    events: new EventRecorder(api, config.nodeName, log.child({ component: 'events' })),
    ips: new IpAllocator(config.podSubnet),
    log,
    isolation,
    setpriv: findSetpriv(),
    programs: findPrograms(config.toolsBinDir, log),
    hostsFile: join(config.rootDir, 'hosts'),
    nodeAllocatable: nodeCapacity(),
    ...(memoryCgroups ? { memoryCgroups } : {}),
    backoff: {
      initialMs: (config.restartBackoff?.initialSeconds ?? 1) * 1000,
      maxMs: (config.restartBackoff?.maxSeconds ?? 60) * 1000,
    },
  });

  const server = await startLogServer({
    host: config.nodeIP,
    port: config.port,
    certFile: config.tlsCertFile,
    keyFile: config.tlsKeyFile,
    clientCAFile: config.clientCAFile,
    log,
    source: {
      logFile: (namespace, pod, container, previous) =>
        manager.find(namespace, pod)?.logFile(container, previous) ?? {
          status: 404,
          message: `pod ${namespace}/${pod} is not running on node ${config.nodeName}`,
        },
    },
  });

  stop = async (signal) => {
    log.info('stopping before registration finished', { signal });
    await manager.shutdown(SHUTDOWN_GRACE_MS);
    process.exit(0);
  };
  const nodeAgent = await retrying('registering the node', log, () => startNodeAgent(api, config, log));
  const fieldSelector = `spec.nodeName=${config.nodeName}`;
  const pods = startListWatch({
    kubeConfig: api.kubeConfig,
    list: () => api.core.listPodForAllNamespaces({ fieldSelector }),
    watchPath: '/api/v1/pods',
    watchQuery: { fieldSelector },
    onUpsert: (pod) => manager.upsert(pod),
    onDelete: (pod) => manager.delete(pod),
    log,
  });
  stop = async (signal) => {
    log.info('stopping: killing all pods', { signal });
    pods.stop();
    await nodeAgent.stop();
    await manager.shutdown(SHUTDOWN_GRACE_MS);
    server.close();
    server.closeAllConnections();
    memoryCgroups?.remove();
    log.info('stopped');
    process.exit(0);
  };
  await pods.synced;
  log.info('ready');
}

process.on('unhandledRejection', (err) => {
  process.stdout.write(
    `${JSON.stringify({ level: 'error', message: 'unhandled rejection', error: String(err) })}\n`,
  );
});

main().catch((err: unknown) => {
  process.stderr.write(
    `process kubelet: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
