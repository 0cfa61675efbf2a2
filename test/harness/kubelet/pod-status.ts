// The pod status a kubelet reports, computed from what its containers are doing. Phase and
// conditions follow pkg/kubelet/kubelet_pods.go getPhase and pkg/kubelet/status/generate.go
// closely, so controllers (the Job controller above all) see exactly what a real node reports.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export interface WaitingState {
  reason: string;
  message?: string;
}
export interface RunningState {
  startedAt: string;
}
export interface TerminatedState {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}
export type ContainerState =
  | { waiting: WaitingState }
  | { running: RunningState }
  | { terminated: TerminatedState };

/** One container's status, as it goes into the API (timestamps as RFC 3339 strings). */
export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: { terminated?: TerminatedState };
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime: null;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface PodStatusInput {
  pod: V1Pod;
  initContainerStatuses: readonly ContainerStatus[];
  containerStatuses: readonly ContainerStatus[];
  podIP?: string;
  hostIP: string;
  startTime?: string;
  /** The "sandbox" exists: IP allocated and volumes set up. */
  sandboxReady: boolean;
  /** The kubelet is done with the pod: its containers are stopped and will not be restarted. */
  podIsTerminal: boolean;
  /** Forces the phase (Failed for DeadlineExceeded), unless the pod is terminal already. */
  phase?: PodPhase;
  /** Pod-level reason and message (DeadlineExceeded …). */
  reason?: string;
  message?: string;
  now: string;
}

export interface PodStatusPatch {
  observedGeneration?: number;
  phase: PodPhase;
  conditions: PodCondition[];
  hostIP: string;
  hostIPs: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  reason?: string;
  message?: string;
  initContainerStatuses: ContainerStatus[];
  containerStatuses: ContainerStatus[];
}

/** The conditions this kubelet owns; others (PodScheduled, DisruptionTarget …) are left alone. */
export const KUBELET_CONDITIONS = [
  'PodReadyToStartContainers',
  'Initialized',
  'ContainersReady',
  'Ready',
] as const;

export function isRestartableInitContainer(container: V1Container): boolean {
  return container.restartPolicy === 'Always';
}

function isTerminalPhase(phase: string | undefined): phase is 'Succeeded' | 'Failed' {
  return phase === 'Succeeded' || phase === 'Failed';
}

function byName(statuses: readonly ContainerStatus[], name: string): ContainerStatus | undefined {
  return statuses.find((s) => s.name === name);
}

/** Some regular container has run (or is running): the pod got past initialization once. */
export function hasAnyRegularContainerStarted(pod: V1Pod, statuses: readonly ContainerStatus[]): boolean {
  return (pod.spec?.containers ?? []).some((c) => {
    const s = byName(statuses, c.name);
    if (!s) return false;
    return 'running' in s.state || 'terminated' in s.state || s.lastState.terminated !== undefined;
  });
}

/** pkg/kubelet getPhase. */
export function computePhase(
  pod: V1Pod,
  initStatuses: readonly ContainerStatus[],
  statuses: readonly ContainerStatus[],
  podIsTerminal: boolean,
): PodPhase {
  const spec = pod.spec;
  const restartPolicy = spec?.restartPolicy ?? 'Always';
  let pendingInitialization = 0;
  let failedInitialization = 0;
  let pendingRestartableInit = 0;
  for (const container of spec?.initContainers ?? []) {
    const s = byName(initStatuses, container.name);
    if (isRestartableInitContainer(container)) {
      if (!s) pendingRestartableInit++;
      else if ('running' in s.state) {
        if (!s.started) pendingRestartableInit++;
      } else if ('waiting' in s.state && s.lastState.terminated === undefined) pendingRestartableInit++;
      continue;
    }
    if (!s) {
      pendingInitialization++;
      continue;
    }
    if ('running' in s.state) pendingInitialization++;
    else if ('terminated' in s.state) {
      if (s.state.terminated.exitCode !== 0) failedInitialization++;
    } else if (s.lastState.terminated) {
      if (s.lastState.terminated.exitCode !== 0) failedInitialization++;
    } else pendingInitialization++;
  }

  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const container of spec?.containers ?? []) {
    const s = byName(statuses, container.name);
    if (!s) {
      unknown++;
      continue;
    }
    if ('running' in s.state) running++;
    else if ('terminated' in s.state) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState.terminated) stopped++;
    else waiting++;
  }

  if (failedInitialization > 0 && restartPolicy === 'Never') return 'Failed';

  if (
    (pendingInitialization > 0 || pendingRestartableInit > 0) &&
    !hasAnyRegularContainerStarted(pod, statuses)
  ) {
    return 'Pending';
  }
  if (waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

interface ConditionCore {
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

function listMessage(prefix: string, names: readonly string[]): string {
  return `${prefix}: [${names.join(' ')}]`;
}

function initializedCondition(
  pod: V1Pod,
  initStatuses: readonly ContainerStatus[],
  statuses: readonly ContainerStatus[],
  phase: PodPhase,
): ConditionCore {
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const container of pod.spec?.initContainers ?? []) {
    const s = byName(initStatuses, container.name);
    if (!s) {
      unknown.push(container.name);
      continue;
    }
    if (isRestartableInitContainer(container)) {
      if (!s.started) incomplete.push(container.name);
      continue;
    }
    if (!('terminated' in s.state) || s.state.terminated.exitCode !== 0) incomplete.push(container.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) return { status: 'True', reason: 'PodCompleted' };
  if (hasAnyRegularContainerStarted(pod, statuses)) return { status: 'True' };
  const messages: string[] = [];
  if (unknown.length > 0) messages.push(listMessage('containers with unknown status', unknown));
  if (incomplete.length > 0) messages.push(listMessage('containers with incomplete status', incomplete));
  if (messages.length > 0) {
    return { status: 'False', reason: 'ContainersNotInitialized', message: messages.join(', ') };
  }
  return { status: 'True' };
}

function containersReadyCondition(
  pod: V1Pod,
  initStatuses: readonly ContainerStatus[],
  statuses: readonly ContainerStatus[],
  phase: PodPhase,
): ConditionCore {
  const unknown: string[] = [];
  const unready: string[] = [];
  for (const container of pod.spec?.initContainers ?? []) {
    if (!isRestartableInitContainer(container)) continue;
    const s = byName(initStatuses, container.name);
    if (!s) unknown.push(container.name);
    else if (!s.ready) unready.push(container.name);
  }
  for (const container of pod.spec?.containers ?? []) {
    const s = byName(statuses, container.name);
    if (!s) unknown.push(container.name);
    else if (!s.ready) unready.push(container.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) return { status: 'False', reason: 'PodCompleted' };
  if (phase === 'Failed') return { status: 'False', reason: 'PodFailed' };
  const messages: string[] = [];
  if (unknown.length > 0) messages.push(listMessage('containers with unknown status', unknown));
  if (unready.length > 0) messages.push(listMessage('containers with unready status', unready));
  if (messages.length > 0)
    return { status: 'False', reason: 'ContainersNotReady', message: messages.join(', ') };
  return { status: 'True' };
}

function readyCondition(pod: V1Pod, containersReady: ConditionCore): ConditionCore {
  if (containersReady.status !== 'True') return containersReady;
  const conditions = pod.status?.conditions ?? [];
  const messages: string[] = [];
  for (const gate of pod.spec?.readinessGates ?? []) {
    const c = conditions.find((x) => x.type === gate.conditionType);
    if (!c)
      messages.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    else if (c.status !== 'True') {
      messages.push(
        `the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`,
      );
    }
  }
  if (messages.length > 0)
    return { status: 'False', reason: 'ReadinessGatesNotReady', message: messages.join(', ') };
  return { status: 'True' };
}

function timeString(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : undefined;
}

/** The status to write: phase, the kubelet's conditions, addresses and container statuses. */
export function computePodStatus(input: PodStatusInput): PodStatusPatch {
  const { pod, initContainerStatuses, containerStatuses, now } = input;
  const previousPhase = pod.status?.phase;
  // A pod never leaves a terminal phase (the status manager refuses such updates).
  const phase = isTerminalPhase(previousPhase)
    ? previousPhase
    : (input.phase ?? computePhase(pod, initContainerStatuses, containerStatuses, input.podIsTerminal));
  const generation = pod.metadata?.generation;

  const containersReady = containersReadyCondition(pod, initContainerStatuses, containerStatuses, phase);
  const cores: Record<(typeof KUBELET_CONDITIONS)[number], ConditionCore> = {
    PodReadyToStartContainers: { status: input.sandboxReady && !isTerminalPhase(phase) ? 'True' : 'False' },
    Initialized: initializedCondition(pod, initContainerStatuses, containerStatuses, phase),
    ContainersReady: containersReady,
    Ready: readyCondition(pod, containersReady),
  };
  const previous = pod.status?.conditions ?? [];
  const conditions = KUBELET_CONDITIONS.map((type): PodCondition => {
    const core = cores[type];
    const before = previous.find((c) => c.type === type);
    const lastTransitionTime =
      before && before.status === core.status ? (timeString(before.lastTransitionTime) ?? now) : now;
    return {
      type,
      status: core.status,
      ...(core.reason !== undefined ? { reason: core.reason } : {}),
      ...(core.message !== undefined ? { message: core.message } : {}),
      lastProbeTime: null,
      lastTransitionTime,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  });

  const terminal = isTerminalPhase(phase);
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    ...(input.podIP ? { podIP: input.podIP, podIPs: [{ ip: input.podIP }] } : {}),
    ...(input.startTime ? { startTime: input.startTime } : {}),
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.message ? { message: input.message } : {}),
    // A terminal pod's containers are not ready, whatever they were a moment ago.
    initContainerStatuses: initContainerStatuses.map((s) => (terminal ? { ...s, ready: false } : s)),
    containerStatuses: containerStatuses.map((s) => (terminal ? { ...s, ready: false } : s)),
  };
}
