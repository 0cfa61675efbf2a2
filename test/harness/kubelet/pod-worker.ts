// One pod's worker: a serialized state machine (one sync at a time, re-run when anything changed
// meanwhile) that converges the pod's processes to its spec and deletion state, like the kubelet's
// podWorkers + SyncPod:
//   sandbox (IP, volumes) → init containers in order, each to completion → app containers →
//   restarts per restartPolicy with back-off → terminal phase; deletion: preStop, SIGTERM, grace,
//   SIGKILL, final status, then delete the pod object with gracePeriodSeconds=0. A pod deleted
//   with grace 0 (or gone from the API) is terminated the same way, with the kubelet's minimum
//   grace (termination-grace.ts).
// Every sync ends by writing the pod status when it changed.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { KubeletConfig } from './config.ts';
import { ContainerLogWriter, logTail } from './container-log.ts';
import {
  type ContainerProcess,
  execInContainer,
  type IsolationMode,
  type ProcessExit,
  startContainerProcess,
} from './container-process.ts';
import { type BindMount, type ContainerUser, renderEntryScript } from './entry-script.ts';
import { ContainerConfigError, containerEnv, type EnvLookups, kubernetesServiceEnv } from './env.ts';
import type { EventRecorder } from './events.ts';
import { expand, mappingFor } from './expansion.ts';
import type { HostsEntry } from './hosts-file.ts';
import {
  CONTAINER_BIN_DIR,
  containerArgv,
  lookupImage,
  type ProvidedProgram,
  unknownImageMessage,
} from './image-table.ts';
import type { IpAllocator } from './ip-allocator.ts';
import {
  describeError,
  isConflict,
  isNotFound,
  type KubeletApi,
  rfc3339,
  strategicMergePatch,
  wireForm,
} from './kube-api.ts';
import type { Log } from './log.ts';
import type { ContainerCgroup, MemoryCgroups } from './memory-cgroup.ts';
import type { PodObjects } from './pod-objects.ts';
import {
  type ContainerStatus,
  computePodStatus,
  isRestartableInitContainer,
  type PodPhase,
  type TerminatedState,
  type WaitingState,
} from './pod-status.ts';
import { ContainerProber, type HandlerTarget, runHandler } from './probes.ts';
import { parseQuantity } from './quantity.ts';
import { MIN_POD_GRACE_SECONDS, terminationGraceSeconds } from './termination-grace.ts';
import { type PreparedVolume, setUpVolumes, VolumeError } from './volumes.ts';

export interface PodWorkerDeps {
  config: KubeletConfig;
  api: KubeletApi;
  objects: PodObjects;
  events: EventRecorder;
  ips: IpAllocator;
  log: Log;
  isolation: IsolationMode;
  /** Absolute path of setpriv. */
  setpriv: string;
  /** Host paths (resolved) of the programs images provide. */
  programs: Partial<Record<ProvidedProgram, string>>;
  hostsFile: string;
  nodeAllocatable: Readonly<Record<string, string>>;
  backoff: { initialMs: number; maxMs: number };
  /** Where containers with a memory limit get a cgroup enforcing it; unset: limits not enforced. */
  memoryCgroups?: MemoryCgroups;
  /** The set of running pods (hence the hosts file) may have changed. */
  hostsChanged(): void;
}

const DEFAULT_PATH = `${CONTAINER_BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
const MAX_TERMINATION_MESSAGE = 4096;
// The kubelet never gives a container it stops on its own (probe, hook, deadline) less than this
// between SIGTERM and SIGKILL; a deleted pod's own grace may be shorter (MIN_POD_GRACE_SECONDS).
const MIN_GRACE_SECONDS = 2;
const VOLUME_REFRESH_MS = 30_000;

interface ContainerRun {
  process: ContainerProcess;
  startedAt: string;
  logIndex: number;
  terminationFile: string;
  /** Settles when the exit has been recorded in the slot. */
  recorded: Promise<void>;
  killing?: Promise<void>;
  prober?: ContainerProber;
  /** How the kubelet killed it, if it did (Killing event already sent). */
  killedBy?: string;
  env: Map<string, string>;
  user?: ContainerUser;
  /** The memory cgroup enforcing the container's limit, when it has one and the node can. */
  cgroup?: ContainerCgroup;
}

interface ContainerSlot {
  spec: V1Container;
  isInit: boolean;
  restartable: boolean;
  restartCount: number;
  /** A process has been started for this container (so the next start is a restart). */
  hasRun: boolean;
  run?: ContainerRun;
  exit?: TerminatedState;
  previousExit?: TerminatedState;
  /** Why it is not running while it is meant to run (ContainerCreating, CrashLoopBackOff …). */
  waiting?: WaitingState;
  ready: boolean;
  started: boolean;
  imageID: string;
  containerID?: string;
  /** Restarts in a row without a long enough run, for the back-off; and when the next start may happen. */
  crashes: number;
  nextStartAt: number;
  backoffMs: number;
  configFailures: number;
  /** Its process was lost in a kubelet restart: start it again whatever the restart policy says. */
  lost: boolean;
}

function terminalPhase(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class PodWorker {
  readonly uid: string;
  readonly #deps: PodWorkerDeps;
  readonly #log: Log;
  readonly #podDir: string;
  #pod: V1Pod;
  #slots = new Map<string, ContainerSlot>();
  #sandbox?: { volumes: Map<string, PreparedVolume> };
  #podIP?: string;
  #startTime?: string;
  #sandboxError?: string;
  #terminal?: { phase?: PodPhase; reason?: string; message?: string };
  #removed = false;
  /** The grace of the deletion in progress (seconds); a later request may only shorten it. */
  #deletionGrace?: number;
  /** Finished with the pod: deleted from the API (or being), nothing left to do. */
  #done = false;
  #lastPatch?: string;
  #syncing = false;
  #again = false;
  #timers = new Map<string, NodeJS.Timeout>();
  #refreshTimer?: NodeJS.Timeout;

  constructor(pod: V1Pod, deps: PodWorkerDeps) {
    this.#pod = pod;
    this.#deps = deps;
    this.uid = pod.metadata?.uid ?? '';
    this.#podDir = join(deps.config.rootDir, 'pods', this.uid);
    this.#log = deps.log.child({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, uid: this.uid });
    this.#restoreFromStatus(pod);
  }

  get pod(): V1Pod {
    return this.#pod;
  }

  /** A newer version of the pod from the API. */
  update(pod: V1Pod): void {
    if (this.#done) return;
    this.#pod = pod;
    this.#requestSync();
  }

  /**
   * The pod is gone from the API (`pod` is its last state: deleted with grace 0, or finalized).
   * Like the kubelet, this does not cut a termination short: its processes still get SIGTERM and
   * the deletion's grace; then its files go.
   */
  remove(pod: V1Pod): void {
    this.#removed = true;
    if (!this.#done) this.#pod = pod;
    if (this.#done) this.cleanUpFiles();
    else this.#requestSync();
  }

  /** The kubelet is stopping: every process goes, SIGTERM then SIGKILL after `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    this.#done = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    const runs = [...this.#slots.values()].flatMap((s) => (s.run ? [s.run] : []));
    for (const run of runs) {
      run.prober?.stop();
      run.process.signal('SIGTERM');
    }
    const timer = setTimeout(() => {
      for (const run of runs) run.process.signal('SIGKILL');
    }, graceMs);
    await Promise.all(runs.map((r) => r.process.exited));
    clearTimeout(timer);
  }

  /** This pod's line in the node's hosts file, while it has a sandbox. */
  hostsEntry(): HostsEntry | undefined {
    const pod = this.#pod;
    if (!this.#sandbox || !this.#podIP || pod.spec?.hostNetwork) return undefined;
    const name = pod.metadata?.name ?? '';
    return {
      ip: this.#podIP,
      podName: name,
      namespace: pod.metadata?.namespace ?? 'default',
      hostname: this.#hostname(),
      ...(pod.spec?.subdomain ? { subdomain: pod.spec.subdomain } : {}),
    };
  }

  /** Where a container's log is, for the log server. */
  logFile(
    container: string,
    previous: boolean,
  ): { path: string; running: () => boolean } | { status: number; message: string } {
    const slot = this.#slots.get(container);
    const podName = this.#pod.metadata?.name;
    if (!slot) return { status: 400, message: `container ${container} is not valid for pod ${podName}` };
    if (!slot.hasRun && !slot.exit) {
      const reason = slot.waiting?.reason ?? 'ContainerCreating';
      return {
        status: 400,
        message: `container "${container}" in pod "${podName}" is waiting to start: ${reason}`,
      };
    }
    const index = previous ? slot.restartCount - 1 : slot.restartCount;
    const path = join(this.#podDir, 'containers', container, `${index}.log`);
    if (index < 0 || !existsSync(path)) {
      return previous
        ? {
            status: 400,
            message: `previous terminated container "${container}" in pod "${podName}" not found`,
          }
        : { status: 400, message: `container "${container}" in pod "${podName}" has no log yet` };
    }
    return { path, running: () => slot.run !== undefined && slot.run.logIndex === index };
  }

  // ---- restoring after a kubelet restart ----------------------------------------------------

  /** Builds the container slots; after a kubelet restart, carries restart counts and finished runs over. */
  #restoreFromStatus(pod: V1Pod): void {
    const previous = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    const add = (spec: V1Container, isInit: boolean) => {
      const slot: ContainerSlot = {
        spec,
        isInit,
        restartable: isInit && isRestartableInitContainer(spec),
        restartCount: 0,
        hasRun: false,
        ready: false,
        started: false,
        imageID: '',
        crashes: 0,
        nextStartAt: 0,
        backoffMs: 0,
        configFailures: 0,
        lost: false,
      };
      const old = previous.find((s) => s.name === spec.name);
      if (old) {
        slot.restartCount = old.restartCount ?? 0;
        const terminated = wireForm(old.state?.terminated) as TerminatedState | undefined;
        const last = wireForm(old.lastState?.terminated) as TerminatedState | undefined;
        if (terminated) {
          slot.hasRun = true;
          slot.exit = terminated;
          slot.previousExit = last;
          slot.containerID = old.containerID;
        } else if (old.state?.running || last) {
          slot.hasRun = true;
          slot.exit = old.state?.running
            ? {
                exitCode: 137,
                reason: 'ContainerStatusUnknown',
                message: 'The container could not be located when the pod was terminated',
                startedAt: String(wireForm(old.state.running.startedAt) ?? rfc3339()),
                finishedAt: rfc3339(),
                containerID: old.containerID ?? '',
              }
            : last;
          slot.lost = old.state?.running !== undefined;
        }
      }
      this.#slots.set(spec.name, slot);
    };
    for (const c of pod.spec?.initContainers ?? []) add(c, true);
    for (const c of pod.spec?.containers ?? []) add(c, false);
    if (pod.status?.startTime) this.#startTime = String(wireForm(pod.status.startTime));
    if (terminalPhase(pod.status?.phase)) this.#terminal = {};
  }

  // ---- the sync loop -------------------------------------------------------------------------

  #requestSync(): void {
    if (this.#syncing) {
      this.#again = true;
      return;
    }
    this.#syncing = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          await this.#sync();
        } catch (err) {
          this.#log.error('pod sync failed; retrying', { error: describeError(err) });
          this.#after('retry', 1000);
        }
      } while (this.#again && !this.#done);
    } finally {
      this.#syncing = false;
    }
  }

  /** Runs a sync after `ms` (one pending timer per purpose). */
  #after(purpose: string, ms: number): void {
    if (this.#done || this.#timers.has(purpose)) return;
    this.#timers.set(
      purpose,
      setTimeout(
        () => {
          this.#timers.delete(purpose);
          this.#requestSync();
        },
        Math.max(0, ms),
      ),
    );
  }

  async #sync(): Promise<void> {
    if (this.#done) return;
    const pod = this.#pod;

    if (this.#removed) {
      await this.#killAll(this.#terminationGrace(), MIN_POD_GRACE_SECONDS);
      this.#teardown();
      this.#finish();
      return;
    }
    if (pod.metadata?.deletionTimestamp) {
      await this.#terminateForDeletion();
      return;
    }
    if (this.#terminal) {
      // Terminal (here or before a kubelet restart): nothing may run; the pod waits for deletion.
      if (this.#anyRunning()) await this.#killAll(this.#gracePeriod());
      this.#teardown();
      await this.#patchStatus();
      return;
    }

    this.#startTime ??= rfc3339();
    if (this.#deadlineExceeded()) {
      this.#deps.events.record(
        pod,
        'Warning',
        'DeadlineExceeded',
        'Pod was active on the node longer than the specified deadline',
      );
      await this.#killAll(this.#gracePeriod());
      this.#terminal = {
        phase: 'Failed',
        reason: 'DeadlineExceeded',
        message: 'Pod was active on the node longer than the specified deadline',
      };
      this.#teardown();
      await this.#patchStatus();
      return;
    }

    if (!this.#sandbox) {
      const ready = await this.#createSandbox();
      if (!ready) {
        await this.#patchStatus();
        return;
      }
    }

    const initialized = await this.#syncInitContainers();
    if (initialized) await this.#syncAppContainers();

    if (this.#finishedRunning(initialized)) {
      // Sidecars are stopped once the regular containers are done for good.
      await this.#killAll(this.#gracePeriod());
      this.#terminal = {};
      this.#teardown();
    }
    await this.#patchStatus();
  }

  // ---- deadline, sandbox ---------------------------------------------------------------------

  #deadlineExceeded(): boolean {
    const seconds = this.#pod.spec?.activeDeadlineSeconds;
    if (seconds === undefined || !this.#startTime) return false;
    const remaining = Date.parse(this.#startTime) + seconds * 1000 - Date.now();
    if (remaining <= 0) return true;
    this.#after('deadline', remaining + 50);
    return false;
  }

  async #createSandbox(): Promise<boolean> {
    const pod = this.#pod;
    const { config, ips } = this.#deps;
    try {
      const previousIP = pod.status?.podIP;
      this.#podIP = pod.spec?.hostNetwork ? config.nodeIP : ips.allocate(this.uid, previousIP);
      mkdirSync(join(this.#podDir, 'containers'), { recursive: true });
      const volumes = await setUpVolumes({
        pod,
        podDir: this.#podDir,
        podIP: this.#podIP,
        hostIP: config.nodeIP,
        nodeAllocatable: this.#deps.nodeAllocatable,
        objects: this.#deps.objects,
      });
      this.#sandbox = { volumes };
      this.#sandboxError = undefined;
      this.#deps.hostsChanged();
      this.#refreshTimer = setInterval(() => void this.#refreshVolumes(), VOLUME_REFRESH_MS);
      this.#refreshTimer.unref();
      return true;
    } catch (err) {
      const message = err instanceof VolumeError ? err.message : describeError(err);
      if (message !== this.#sandboxError) {
        this.#deps.events.record(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed: ${message}`);
        this.#log.warn('setting up volumes failed', { error: message });
      }
      this.#sandboxError = message;
      this.#after('sandbox', 1000);
      return false;
    }
  }

  async #refreshVolumes(): Promise<void> {
    if (!this.#sandbox || this.#terminal || this.#done) return;
    for (const volume of this.#sandbox.volumes.values()) {
      try {
        await volume.refresh?.();
      } catch (err) {
        this.#log.debug('volume refresh failed', { volume: volume.name, error: describeError(err) });
      }
    }
  }

  /** The sandbox goes (its IP is free again, its hosts entry disappears); files stay for logs. */
  #teardown(): void {
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    this.#refreshTimer = undefined;
    if (this.#sandbox) {
      this.#sandbox = undefined;
      this.#deps.hostsChanged();
    }
    this.#deps.ips.release(this.uid);
  }

  #finish(): void {
    this.#done = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    rmSync(this.#podDir, { recursive: true, force: true });
  }

  // ---- containers ----------------------------------------------------------------------------

  /** Runs the init containers in order; true once every regular one succeeded and sidecars started. */
  async #syncInitContainers(): Promise<boolean> {
    const restartPolicy = this.#pod.spec?.restartPolicy ?? 'Always';
    for (const spec of this.#pod.spec?.initContainers ?? []) {
      const slot = this.#slots.get(spec.name)!;
      if (slot.restartable) {
        if (slot.run) {
          if (!slot.started) return false;
          continue;
        }
        await this.#startWhenDue(slot);
        if (!slot.run || !slot.started) return false;
        continue;
      }
      if (slot.run) return false;
      if (slot.exit && !slot.lost) {
        if (slot.exit.exitCode === 0) continue;
        // A failed init container fails a Never pod; otherwise it is retried (OnFailure and Always).
        if (restartPolicy === 'Never') {
          this.#terminal = {};
          return false;
        }
      }
      await this.#startWhenDue(slot);
      return false;
    }
    return true;
  }

  async #syncAppContainers(): Promise<void> {
    const restartPolicy = this.#pod.spec?.restartPolicy ?? 'Always';
    for (const spec of this.#pod.spec?.containers ?? []) {
      const slot = this.#slots.get(spec.name)!;
      if (slot.run) continue;
      if (slot.exit && !slot.lost) {
        const restart =
          restartPolicy === 'Always' || (restartPolicy === 'OnFailure' && slot.exit.exitCode !== 0);
        if (!restart) continue;
      }
      await this.#startWhenDue(slot);
    }
    // Sidecars restart whenever they exit, while the pod runs.
    for (const slot of this.#slots.values()) {
      if (slot.restartable && !slot.run) await this.#startWhenDue(slot);
    }
  }

  /** The regular containers are done and none will run again. */
  #finishedRunning(initialized: boolean): boolean {
    if (this.#terminal) return true;
    if (!initialized) return false;
    const restartPolicy = this.#pod.spec?.restartPolicy ?? 'Always';
    if (restartPolicy === 'Always') return false;
    return (this.#pod.spec?.containers ?? []).every((spec) => {
      const slot = this.#slots.get(spec.name)!;
      if (slot.run || !slot.exit || slot.lost) return false;
      return restartPolicy === 'Never' || slot.exit.exitCode === 0;
    });
  }

  #anyRunning(): boolean {
    return [...this.#slots.values()].some((s) => s.run !== undefined);
  }

  /** Starts the container now, or records why not and when to try again. */
  async #startWhenDue(slot: ContainerSlot): Promise<void> {
    const now = Date.now();
    if (slot.nextStartAt > now) {
      if (slot.hasRun && !slot.waiting) {
        slot.waiting = {
          reason: 'CrashLoopBackOff',
          message: `back-off ${Math.round(slot.backoffMs / 1000)}s restarting failed container=${slot.spec.name} pod=${this.#pod.metadata?.name}_${this.#pod.metadata?.namespace}(${this.uid})`,
        };
        this.#deps.events.record(
          this.#pod,
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${slot.spec.name} in pod ${this.#pod.metadata?.name}_${this.#pod.metadata?.namespace}(${this.uid})`,
          slot.spec.name,
        );
      }
      this.#after(`start-${slot.spec.name}`, slot.nextStartAt - now);
      return;
    }
    await this.#start(slot);
  }

  #gracePeriod(): number {
    return this.#pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  #hostname(): string {
    const pod = this.#pod;
    return (pod.spec?.hostname ?? pod.metadata?.name ?? 'pod').slice(0, 63);
  }

  #containerUser(slot: ContainerSlot, imageUser: { uid: number; gid: number }): ContainerUser {
    const podContext = this.#pod.spec?.securityContext;
    const context = slot.spec.securityContext;
    const runAsUser = context?.runAsUser ?? podContext?.runAsUser;
    const runAsGroup = context?.runAsGroup ?? podContext?.runAsGroup;
    const uid = runAsUser ?? imageUser.uid;
    // An explicit user without a group gets group 0, as with a user missing from the image's /etc/passwd.
    const gid = runAsGroup ?? (runAsUser !== undefined ? 0 : imageUser.gid);
    const groups = [...(podContext?.supplementalGroups ?? [])];
    if (podContext?.fsGroup !== undefined) groups.push(podContext.fsGroup);
    return { uid, gid, supplementalGroups: [...new Set(groups)] };
  }

  /** Image, configuration, mounts, the process, its log, its probes. */
  async #start(slot: ContainerSlot): Promise<void> {
    const pod = this.#pod;
    const spec = slot.spec;
    const { config, events } = this.#deps;
    const entry = lookupImage(spec.image ?? '');
    if (!entry) {
      const message = unknownImageMessage(spec.image ?? '');
      const first = slot.waiting?.reason !== 'ErrImagePull' && slot.waiting?.reason !== 'ImagePullBackOff';
      slot.waiting = { reason: first ? 'ErrImagePull' : 'ImagePullBackOff', message };
      if (first) events.record(pod, 'Warning', 'Failed', message, spec.name);
      else events.record(pod, 'Normal', 'BackOff', `Back-off pulling image "${spec.image}"`, spec.name);
      this.#backOff(slot);
      return;
    }

    const podIP = this.#podIP ?? config.nodeIP;
    const user = this.#containerUser(slot, entry.user);
    let env: Map<string, string>;
    try {
      const runAsNonRoot = spec.securityContext?.runAsNonRoot ?? pod.spec?.securityContext?.runAsNonRoot;
      if (runAsNonRoot && user.uid === 0) {
        throw new ContainerConfigError(
          `container has runAsNonRoot and image will run as root (pod: "${pod.metadata?.name}_${pod.metadata?.namespace}(${this.uid})", container: ${spec.name})`,
        );
      }
      env = await containerEnv(
        spec,
        {
          pod,
          podIP,
          hostIP: config.nodeIP,
          runtimeEnv: new Map([
            ['PATH', DEFAULT_PATH],
            ['HOSTNAME', this.#hostname()],
            ['HOME', user.uid === 0 ? '/root' : '/'],
          ]),
          serviceEnv: kubernetesServiceEnv(config.apiserverHost, config.apiserverPort),
          nodeAllocatable: this.#deps.nodeAllocatable,
        },
        this.#envLookups(),
      );
    } catch (err) {
      const message = err instanceof ContainerConfigError ? err.message : describeError(err);
      if (slot.waiting?.message !== message)
        events.record(pod, 'Warning', 'Failed', `Error: ${message}`, spec.name);
      slot.waiting = { reason: 'CreateContainerConfigError', message };
      slot.configFailures++;
      this.#after(`start-${spec.name}`, Math.min(1000 * 2 ** Math.min(slot.configFailures - 1, 3), 10_000));
      return;
    }

    const mapping = mappingFor(env);
    const argv = containerArgv(
      entry,
      spec.command?.map((a) => expand(a, mapping)),
      spec.args?.map((a) => expand(a, mapping)),
    );
    if (argv.length === 0) {
      slot.waiting = { reason: 'CreateContainerError', message: 'no command specified' };
      this.#backOff(slot);
      return;
    }

    let mounts: BindMount[];
    try {
      mounts = this.#mounts(spec, env);
    } catch (err) {
      const message = describeError(err);
      slot.waiting = { reason: 'CreateContainerConfigError', message };
      events.record(pod, 'Warning', 'Failed', `Error: ${message}`, spec.name);
      this.#after(`start-${spec.name}`, 2000);
      return;
    }

    events.record(
      pod,
      'Normal',
      'Pulled',
      `Container image "${spec.image}" already present on machine`,
      spec.name,
    );

    const restartCount = slot.hasRun ? slot.restartCount + 1 : slot.restartCount;
    const containerDir = join(this.#podDir, 'containers', spec.name);
    mkdirSync(containerDir, { recursive: true });
    const terminationFile = join(containerDir, `${restartCount}.termination-log`);
    writeFileSync(terminationFile, '');
    // Writable by whatever user the container runs as, as the kubelet makes it.
    chmodSync(terminationFile, 0o666);
    mounts.push({
      hostPath: terminationFile,
      containerPath: spec.terminationMessagePath || '/dev/termination-log',
      readOnly: false,
      isFile: true,
    });
    // A fresh /tmp for each run, as a container's own root file system would have.
    if (!mounts.some((m) => m.containerPath === '/tmp')) {
      const tmp = join(containerDir, 'tmp');
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp);
      chmodSync(tmp, 0o1777);
      mounts.push({
        hostPath: tmp,
        containerPath: '/tmp',
        readOnly: spec.securityContext?.readOnlyRootFilesystem === true,
        isFile: false,
      });
    }
    if (!mounts.some((m) => m.containerPath === '/etc/hosts')) {
      mounts.push({
        hostPath: this.#deps.hostsFile,
        containerPath: '/etc/hosts',
        readOnly: true,
        isFile: true,
      });
    }

    const honourUser = this.#deps.isolation === 'root';
    const context = spec.securityContext;
    const entryScript = join(containerDir, 'entry.sh');
    writeFileSync(
      entryScript,
      renderEntryScript({
        ...(pod.spec?.hostNetwork ? {} : { hostname: this.#hostname() }),
        projectRoot: config.projectRoot,
        programs: this.#deps.programs,
        mounts,
        ...(spec.workingDir ? { workingDir: spec.workingDir } : {}),
        ...(honourUser && (user.uid !== 0 || user.gid !== 0 || user.supplementalGroups.length > 0)
          ? { user }
          : {}),
        noNewPrivileges: context?.allowPrivilegeEscalation === false,
        dropAllCapabilities: (context?.capabilities?.drop ?? []).some((c) => c.toUpperCase() === 'ALL'),
        readOnlyRootFilesystem: context?.readOnlyRootFilesystem === true,
        setpriv: this.#deps.setpriv,
      }),
      { mode: 0o755 },
    );

    const logIndex = restartCount;
    const logWriter = new ContainerLogWriter(join(containerDir, `${logIndex}.log`));
    const cgroup = this.#memoryCgroup(spec, restartCount);
    const process = startContainerProcess({
      isolation: this.#deps.isolation,
      entryScript,
      argv,
      env,
      onOutput: (stream, chunk) => logWriter.write(stream, chunk),
      ...(cgroup ? { cgroupProcsFile: cgroup.procsFile } : {}),
    });

    const wasRestart = slot.hasRun;
    if (wasRestart) {
      slot.restartCount = restartCount;
      slot.previousExit = undefined;
    }
    slot.hasRun = true;
    slot.lost = false;
    slot.waiting = undefined;
    slot.configFailures = 0;
    slot.ready = false;
    slot.started = false;
    slot.containerID = `process://${process.pid}`;
    slot.imageID = `process://${argv[0]}`;
    let markRecorded!: () => void;
    const run: ContainerRun = {
      process,
      startedAt: rfc3339(),
      logIndex,
      terminationFile,
      recorded: new Promise((r) => {
        markRecorded = r;
      }),
      env,
      ...(honourUser ? { user } : {}),
      ...(cgroup ? { cgroup } : {}),
    };
    slot.run = run;
    events.record(pod, 'Normal', 'Created', `Created container: ${spec.name}`, spec.name);
    events.record(pod, 'Normal', 'Started', `Started container ${spec.name}`, spec.name);
    this.#log.info('container started', {
      container: spec.name,
      pid: process.pid,
      restartCount: slot.restartCount,
    });

    void process.exited.then(async (exit) => {
      await logWriter.close();
      this.#recordExit(slot, run, exit);
      markRecorded();
      this.#requestSync();
    });

    const target = this.#handlerTarget(slot, run);
    if (spec.lifecycle?.postStart) {
      const result = await runHandler(spec.lifecycle.postStart, target, this.#gracePeriod() * 1000);
      if (!result.success && !process.hasExited) {
        events.record(
          pod,
          'Warning',
          'FailedPostStartHook',
          `PostStartHook failed: ${result.message}`,
          spec.name,
        );
        await this.#killContainer(slot, this.#gracePeriod(), 'FailedPostStartHook');
        return;
      }
    }
    if (process.hasExited) return;

    run.prober = new ContainerProber(spec, target, {
      started: () => {
        if (slot.run !== run) return;
        slot.started = true;
        if (!spec.readinessProbe) slot.ready = true;
        this.#requestSync();
      },
      readiness: (ready) => {
        if (slot.run !== run) return;
        slot.ready = ready && slot.started;
        this.#requestSync();
      },
      failed: (kind, message) => {
        if (slot.run !== run) return;
        const what = kind === 'liveness' ? 'liveness' : 'startup';
        this.#log.info('probe failed, killing the container', { container: spec.name, kind, message });
        const probe = kind === 'liveness' ? spec.livenessProbe : spec.startupProbe;
        const grace = probe?.terminationGracePeriodSeconds ?? this.#gracePeriod();
        void this.#killContainer(
          slot,
          grace,
          `Container ${spec.name} failed ${what} probe, will be restarted`,
        );
      },
      unhealthy: (kind, message) => {
        if (slot.run !== run || run.killing) return;
        const name = kind.charAt(0).toUpperCase() + kind.slice(1);
        events.record(pod, 'Warning', 'Unhealthy', `${name} probe failed: ${message}`.trim(), spec.name);
      },
    });
    run.prober.start();
  }

  /** A cgroup limiting the container to its `resources.limits.memory`, when the node enforces limits. */
  #memoryCgroup(spec: V1Container, restartCount: number): ContainerCgroup | undefined {
    const limit = spec.resources?.limits?.memory;
    const cgroups = this.#deps.memoryCgroups;
    if (!cgroups || limit === undefined) return undefined;
    try {
      return cgroups.create(`${this.uid}-${spec.name}-${restartCount}`, parseQuantity(String(limit)));
    } catch (err) {
      this.#log.warn('cannot create the memory cgroup; the limit is not enforced', {
        container: spec.name,
        error: describeError(err),
      });
      return undefined;
    }
  }

  #backOff(slot: ContainerSlot): void {
    const { initialMs, maxMs } = this.#deps.backoff;
    const delay = Math.min(initialMs * 2 ** Math.min(slot.crashes, 20), maxMs);
    slot.crashes++;
    slot.backoffMs = delay;
    slot.nextStartAt = Date.now() + delay;
    this.#after(`start-${slot.spec.name}`, delay);
  }

  #recordExit(slot: ContainerSlot, run: ContainerRun, exit: ProcessExit): void {
    run.prober?.stop();
    const finishedAt = rfc3339();
    let message = readTerminationMessage(run.terminationFile);
    if (!message && exit.exitCode !== 0 && slot.spec.terminationMessagePolicy === 'FallbackToLogsOnError') {
      try {
        message = logTail(
          readFileSync(join(this.#podDir, 'containers', slot.spec.name, `${run.logIndex}.log`)),
        );
      } catch {
        message = '';
      }
    }
    // As containerd does: a failed container whose cgroup saw an OOM kill was OOMKilled.
    const oomKilled = exit.exitCode !== 0 && (run.cgroup?.oomKills() ?? 0) > 0;
    const memoryPeakBytes = run.cgroup?.peakBytes();
    run.cgroup?.remove();
    const reason = oomKilled
      ? 'OOMKilled'
      : exit.exitCode === 0
        ? 'Completed'
        : exit.exitCode === 128
          ? 'StartError'
          : 'Error';
    slot.previousExit = slot.exit;
    slot.exit = {
      exitCode: exit.exitCode,
      ...(exit.signal !== undefined ? { signal: exit.signal } : {}),
      reason,
      ...(message ? { message } : {}),
      startedAt: run.startedAt,
      finishedAt,
      containerID: `process://${run.process.pid}`,
    };
    slot.run = undefined;
    slot.ready = false;
    slot.started = false;
    this.#log.info('container exited', {
      container: slot.spec.name,
      exitCode: exit.exitCode,
      reason,
      ...(memoryPeakBytes !== undefined ? { memoryPeakBytes } : {}),
    });

    // Back-off for the next start: the first restart is immediate, then initial, doubling to the
    // cap; a run longer than twice the cap forgives earlier crashes.
    const { initialMs, maxMs } = this.#deps.backoff;
    const ranMs = Date.parse(finishedAt) - Date.parse(run.startedAt);
    if (ranMs > 2 * maxMs) slot.crashes = 0;
    const delay = slot.crashes === 0 ? 0 : Math.min(initialMs * 2 ** (slot.crashes - 1), maxMs);
    slot.crashes++;
    slot.backoffMs = delay;
    slot.nextStartAt = Date.now() + delay;
  }

  #handlerTarget(slot: ContainerSlot, run: ContainerRun): HandlerTarget {
    const entry = lookupImage(slot.spec.image ?? '');
    return {
      podIP: this.#podIP ?? this.#deps.config.nodeIP,
      container: slot.spec,
      exec: (argv, timeoutMs) => {
        const mapped = entry ? containerArgv(entry, argv, undefined) : [...argv];
        const userArgs = run.user
          ? [
              `--reuid=${run.user.uid}`,
              `--regid=${run.user.gid}`,
              run.user.supplementalGroups.length > 0
                ? `--groups=${run.user.supplementalGroups.join(',')}`
                : '--clear-groups',
            ]
          : [];
        return execInContainer(run.process, this.#deps.isolation, mapped, {
          env: run.env,
          ...(slot.spec.workingDir ? { workingDir: slot.spec.workingDir } : {}),
          setpriv: this.#deps.setpriv,
          userArgs,
          timeoutMs,
        });
      },
    };
  }

  /** The container's bind mounts: its volumeMounts (subPath, subPathExpr, readOnly). */
  #mounts(spec: V1Container, env: Map<string, string>): BindMount[] {
    const volumes = this.#sandbox?.volumes ?? new Map<string, PreparedVolume>();
    const mounts: BindMount[] = [];
    for (const vm of spec.volumeMounts ?? []) {
      const volume = volumes.get(vm.name);
      if (!volume) throw new Error(`volumeMount ${vm.name} refers to no volume of the pod`);
      const subPath = vm.subPathExpr ? expand(vm.subPathExpr, mappingFor(env)) : vm.subPath;
      if (subPath && (subPath.startsWith('/') || subPath.split('/').includes('..'))) {
        throw new Error(`subPath "${subPath}" must be a relative path inside the volume`);
      }
      let hostPath = subPath ? join(volume.hostPath, subPath) : volume.hostPath;
      if (!existsSync(hostPath)) {
        if (volume.readOnly) throw new Error(`subPath "${subPath}" does not exist in volume ${vm.name}`);
        mkdirSync(hostPath, { recursive: true, mode: 0o777 });
      }
      // API data volumes hold symlinks into ..data: mount what they point at.
      hostPath = realpathSync(hostPath);
      mounts.push({
        hostPath,
        containerPath: vm.mountPath,
        readOnly: vm.readOnly === true || volume.readOnly,
        isFile: statSync(hostPath).isFile(),
      });
    }
    return mounts;
  }

  #envLookups(): EnvLookups {
    const objects = this.#deps.objects;
    const decode = (data: Record<string, Buffer> | undefined) =>
      data ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('utf8')])) : undefined;
    return {
      secret: async (namespace, name) => decode(await objects.secret(namespace, name)),
      configMap: async (namespace, name) => decode(await objects.configMap(namespace, name)),
    };
  }

  // ---- killing -------------------------------------------------------------------------------

  /**
   * Stops one container: preStop hook, SIGTERM, SIGKILL when the grace period is over (never
   * sooner than `minSeconds`). Resolves once its exit is recorded.
   */
  #killContainer(
    slot: ContainerSlot,
    graceSeconds: number,
    reason?: string,
    minSeconds = MIN_GRACE_SECONDS,
  ): Promise<void> {
    const run = slot.run;
    if (!run) return Promise.resolve();
    run.killing ??= (async () => {
      const spec = slot.spec;
      run.killedBy = reason ?? 'Killing';
      run.prober?.stop();
      this.#deps.events.record(
        this.#pod,
        'Normal',
        'Killing',
        reason ?? `Stopping container ${spec.name}`,
        spec.name,
      );
      const grace = Math.max(graceSeconds, minSeconds);
      const deadline = Date.now() + grace * 1000;
      if (spec.lifecycle?.preStop) {
        const hook = runHandler(spec.lifecycle.preStop, this.#handlerTarget(slot, run), grace * 1000).then(
          (r) => {
            if (!r.success) {
              this.#deps.events.record(
                this.#pod,
                'Warning',
                'FailedPreStopHook',
                `PreStopHook failed: ${r.message}`,
                spec.name,
              );
            }
          },
        );
        await Promise.race([hook, sleep(grace * 1000), run.process.exited]);
      }
      run.process.signal('SIGTERM');
      // After a preStop hook that used the whole grace period the process still gets minSeconds.
      const remaining = Math.max(deadline - Date.now(), minSeconds * 1000);
      await Promise.race([run.process.exited, sleep(remaining)]);
      if (!run.process.hasExited) run.process.signal('SIGKILL');
      await run.recorded;
    })();
    return run.killing;
  }

  /** Stops every container: regular ones first, sidecars (restartable init containers) after them. */
  async #killAll(graceSeconds: number, minSeconds = MIN_GRACE_SECONDS): Promise<void> {
    const slots = [...this.#slots.values()].filter((s) => s.run);
    const started = Date.now();
    await Promise.all(
      slots
        .filter((s) => !s.restartable)
        .map((s) => this.#killContainer(s, graceSeconds, undefined, minSeconds)),
    );
    const left = Math.max(0, graceSeconds - (Date.now() - started) / 1000);
    await Promise.all(
      slots.filter((s) => s.restartable).map((s) => this.#killContainer(s, left, undefined, minSeconds)),
    );
  }

  /** The grace for terminating the pod now (seconds), as the kubelet computes it. */
  #terminationGrace(): number {
    this.#deletionGrace = terminationGraceSeconds(this.#pod, this.#deletionGrace);
    return this.#deletionGrace;
  }

  async #terminateForDeletion(): Promise<void> {
    const pod = this.#pod;
    await this.#killAll(this.#terminationGrace(), MIN_POD_GRACE_SECONDS);
    this.#terminal ??= {};
    this.#teardown();
    try {
      await this.#patchStatus();
    } catch (err) {
      this.#log.debug('final status not written', { error: describeError(err) });
    }
    try {
      await this.#deps.api.core.deleteNamespacedPod({
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? 'default',
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: this.uid } },
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) {
        this.#log.warn('deleting the pod failed; retrying', { error: describeError(err) });
        this.#after('delete', 1000);
        return;
      }
    }
    this.#log.info('pod terminated and deleted');
    this.#done = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    // Gone from the API while it terminated: nobody else removes its files.
    if (this.#removed) this.cleanUpFiles();
  }

  /** Called by the manager once the pod object is gone: removes the pod's files. */
  cleanUpFiles(): void {
    rmSync(this.#podDir, { recursive: true, force: true });
  }

  // ---- status --------------------------------------------------------------------------------

  #containerStatus(slot: ContainerSlot, pendingReason: string): ContainerStatus {
    const base = {
      name: slot.spec.name,
      image: slot.spec.image ?? '',
      imageID: slot.imageID,
      ...(slot.containerID ? { containerID: slot.containerID } : {}),
      restartCount: slot.restartCount,
    };
    if (slot.run) {
      return {
        ...base,
        ready: slot.ready,
        started: slot.started,
        state: { running: { startedAt: slot.run.startedAt } },
        lastState: slot.exit ? { terminated: slot.exit } : {},
      };
    }
    if (slot.waiting) {
      return {
        ...base,
        ready: false,
        started: false,
        state: { waiting: slot.waiting },
        lastState: slot.exit ? { terminated: slot.exit } : {},
      };
    }
    if (slot.exit) {
      return {
        ...base,
        ready: false,
        started: false,
        state: { terminated: slot.exit },
        lastState: slot.previousExit ? { terminated: slot.previousExit } : {},
      };
    }
    return {
      ...base,
      ready: false,
      started: false,
      state: { waiting: { reason: pendingReason } },
      lastState: {},
    };
  }

  async #patchStatus(): Promise<void> {
    const pod = this.#pod;
    const hasInit = (pod.spec?.initContainers ?? []).length > 0;
    const sandboxPending = !this.#sandbox && !this.#terminal;
    const pending = (slot: ContainerSlot) => {
      if (sandboxPending) return 'ContainerCreating';
      return hasInit && !slot.isInit
        ? 'PodInitializing'
        : slot.isInit
          ? 'PodInitializing'
          : 'ContainerCreating';
    };
    const initStatuses = (pod.spec?.initContainers ?? []).map((c) =>
      this.#containerStatus(this.#slots.get(c.name)!, pending(this.#slots.get(c.name)!)),
    );
    const statuses = (pod.spec?.containers ?? []).map((c) =>
      this.#containerStatus(this.#slots.get(c.name)!, pending(this.#slots.get(c.name)!)),
    );
    if (sandboxPending && this.#sandboxError) {
      for (const s of [...initStatuses, ...statuses]) {
        if ('waiting' in s.state && s.state.waiting.reason === 'ContainerCreating') {
          s.state.waiting.message = this.#sandboxError;
        }
      }
    }
    const status = computePodStatus({
      pod,
      initContainerStatuses: initStatuses,
      containerStatuses: statuses,
      ...(this.#podIP ? { podIP: this.#podIP } : {}),
      hostIP: this.#deps.config.nodeIP,
      ...(this.#startTime ? { startTime: this.#startTime } : {}),
      sandboxReady: this.#sandbox !== undefined,
      podIsTerminal: this.#terminal !== undefined,
      ...(this.#terminal?.phase ? { phase: this.#terminal.phase } : {}),
      ...(this.#terminal?.reason ? { reason: this.#terminal.reason } : {}),
      ...(this.#terminal?.message ? { message: this.#terminal.message } : {}),
      now: rfc3339(),
    });
    const body = { metadata: { uid: this.uid }, status: patchForm(status) };
    const json = JSON.stringify(body);
    if (json === this.#lastPatch) return;
    try {
      const updated = await this.#deps.api.core.patchNamespacedPodStatus(
        { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? 'default', body },
        strategicMergePatch,
      );
      this.#lastPatch = json;
      // Keep the newest view, but never lose a deletion we already saw.
      const fresh = wireForm(updated);
      if (fresh.metadata?.uid === this.uid) this.#pod = fresh;
    } catch (err) {
      if (isNotFound(err)) return; // gone: the watch will say so
      this.#log.warn('writing pod status failed; retrying', { error: describeError(err) });
      this.#after('status', 1000);
    }
  }
}

/**
 * The status in strategic-merge-patch form: lists the kubelet owns are sent whole, and fields that
 * must disappear are sent as null — conditions merge by type, so a condition's old reason would
 * otherwise survive; container states must not keep a stale `waiting` next to `running`.
 */
function patchForm(status: ReturnType<typeof computePodStatus>): Record<string, unknown> {
  const containers = (list: ContainerStatus[]) =>
    list.map((s) => ({
      ...s,
      state: {
        waiting: 'waiting' in s.state ? s.state.waiting : null,
        running: 'running' in s.state ? s.state.running : null,
        terminated: 'terminated' in s.state ? s.state.terminated : null,
      },
      lastState: { terminated: s.lastState.terminated ?? null },
    }));
  return {
    ...status,
    reason: status.reason ?? null,
    message: status.message ?? null,
    conditions: status.conditions.map((c) => ({
      ...c,
      reason: c.reason ?? null,
      message: c.message ?? null,
    })),
    initContainerStatuses: containers(status.initContainerStatuses),
    containerStatuses: containers(status.containerStatuses),
  };
}

function readTerminationMessage(path: string): string {
  try {
    const data = readFileSync(path);
    return data.subarray(0, MAX_TERMINATION_MESSAGE).toString('utf8');
  } catch {
    return '';
  }
}
