import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  type ContainerStatus,
  computePhase,
  computePodStatus,
  type TerminatedState,
} from '../../harness/kubelet/pod-status.ts';

const NOW = '2030-01-01T00:00:10Z';
const EARLIER = '2030-01-01T00:00:00Z';

function pod(restartPolicy: 'Always' | 'OnFailure' | 'Never', extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'default', uid: 'u', generation: 1 },
    spec: { restartPolicy, containers: [{ name: 'a' }], ...extra },
  };
}

const exited = (exitCode: number): TerminatedState => ({
  exitCode,
  reason: exitCode === 0 ? 'Completed' : 'Error',
  startedAt: EARLIER,
  finishedAt: NOW,
  containerID: 'process://1',
});

function status(
  name: string,
  state: ContainerStatus['state'],
  extra: Partial<ContainerStatus> = {},
): ContainerStatus {
  return {
    name,
    image: 'busybox',
    imageID: '',
    ready: false,
    started: false,
    restartCount: 0,
    state,
    lastState: {},
    ...extra,
  };
}

const running = (name = 'a', ready = true) =>
  status(name, { running: { startedAt: EARLIER } }, { ready, started: true });
const terminated = (exitCode: number, name = 'a') => status(name, { terminated: exited(exitCode) });
const crashLooping = (lastExit: number, name = 'a') =>
  status(
    name,
    { waiting: { reason: 'CrashLoopBackOff' } },
    { lastState: { terminated: exited(lastExit) }, restartCount: 1 },
  );
const waiting = (reason: string, name = 'a') => status(name, { waiting: { reason } });

describe('computePhase (kubelet getPhase)', () => {
  it.each([
    ['Never', terminated(0), false, 'Succeeded'],
    ['Never', terminated(1), false, 'Failed'],
    ['OnFailure', terminated(0), false, 'Succeeded'],
    ['OnFailure', terminated(1), false, 'Running'],
    ['OnFailure', crashLooping(1), false, 'Running'],
    ['Always', terminated(0), false, 'Running'],
    ['Always', crashLooping(2), false, 'Running'],
    ['Always', terminated(0), true, 'Succeeded'],
    ['Always', terminated(137), true, 'Failed'],
    ['Never', running(), false, 'Running'],
    ['Never', waiting('ContainerCreating'), false, 'Pending'],
    ['Always', waiting('ErrImagePull'), false, 'Pending'],
  ] as const)('%s with %j (terminal: %s) → %s', (policy, s, podIsTerminal, phase) => {
    expect(computePhase(pod(policy), [], [s], podIsTerminal)).toBe(phase);
  });

  it('is Pending while a regular init container has not succeeded', () => {
    const p = pod('Always', { initContainers: [{ name: 'init' }] });
    expect(computePhase(p, [running('init')], [waiting('PodInitializing')], false)).toBe('Pending');
    expect(computePhase(p, [crashLooping(1, 'init')], [waiting('PodInitializing')], false)).toBe('Pending');
  });

  it('fails a Never pod whose init container failed', () => {
    const p = pod('Never', { initContainers: [{ name: 'init' }] });
    expect(computePhase(p, [terminated(1, 'init')], [waiting('PodInitializing')], false)).toBe('Failed');
  });

  it('is Pending with some containers running and some still waiting', () => {
    const p = pod('Always', { containers: [{ name: 'a' }, { name: 'b' }] });
    expect(computePhase(p, [], [running('a'), waiting('ContainerCreating', 'b')], false)).toBe('Pending');
  });

  it('waits for a sidecar to start before the pod leaves Pending', () => {
    const p = pod('Always', { initContainers: [{ name: 'side', restartPolicy: 'Always' }] });
    const sidecar = status('side', { running: { startedAt: EARLIER } }, { started: false });
    expect(computePhase(p, [sidecar], [waiting('PodInitializing')], false)).toBe('Pending');
    expect(computePhase(p, [{ ...sidecar, started: true }], [running()], false)).toBe('Running');
  });
});

describe('computePodStatus', () => {
  const base = {
    hostIP: '127.21.0.1',
    podIP: '127.21.1.1',
    startTime: EARLIER,
    sandboxReady: true,
    now: NOW,
  };

  it('reports a running, ready pod with the kubelet’s four conditions', () => {
    const s = computePodStatus({
      ...base,
      pod: pod('Always'),
      initContainerStatuses: [],
      containerStatuses: [running()],
      podIsTerminal: false,
    });
    expect(s.phase).toBe('Running');
    expect(s.podIPs).toEqual([{ ip: '127.21.1.1' }]);
    expect(s.hostIPs).toEqual([{ ip: '127.21.0.1' }]);
    expect(s.observedGeneration).toBe(1);
    expect(Object.fromEntries(s.conditions.map((c) => [c.type, c.status]))).toEqual({
      PodReadyToStartContainers: 'True',
      Initialized: 'True',
      ContainersReady: 'True',
      Ready: 'True',
    });
  });

  it('names unready containers', () => {
    const s = computePodStatus({
      ...base,
      pod: pod('Always', { containers: [{ name: 'a' }, { name: 'b' }] }),
      initContainerStatuses: [],
      containerStatuses: [running('a'), running('b', false)],
      podIsTerminal: false,
    });
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [b]',
    });
  });

  it('names incomplete init containers while initializing', () => {
    const s = computePodStatus({
      ...base,
      pod: pod('Always', { initContainers: [{ name: 'i1' }, { name: 'i2' }] }),
      initContainerStatuses: [terminated(0, 'i1'), running('i2')],
      containerStatuses: [waiting('PodInitializing')],
      podIsTerminal: false,
    });
    expect(s.phase).toBe('Pending');
    expect(s.conditions.find((c) => c.type === 'Initialized')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotInitialized',
      message: 'containers with incomplete status: [i2]',
    });
  });

  it('says PodCompleted for a succeeded pod and marks its containers not ready', () => {
    const s = computePodStatus({
      ...base,
      pod: pod('Never'),
      initContainerStatuses: [],
      containerStatuses: [{ ...terminated(0), ready: true }],
      podIsTerminal: true,
    });
    expect(s.phase).toBe('Succeeded');
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
    });
    expect(s.conditions.find((c) => c.type === 'PodReadyToStartContainers')?.status).toBe('False');
    expect(s.containerStatuses[0]?.ready).toBe(false);
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it on a change', () => {
    const p = pod('Always');
    p.status = {
      conditions: [
        { type: 'Ready', status: 'True', lastTransitionTime: EARLIER as unknown as Date },
        { type: 'ContainersReady', status: 'False', lastTransitionTime: EARLIER as unknown as Date },
      ],
    };
    const s = computePodStatus({
      ...base,
      pod: p,
      initContainerStatuses: [],
      containerStatuses: [running()],
      podIsTerminal: false,
    });
    expect(s.conditions.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe(EARLIER);
    expect(s.conditions.find((c) => c.type === 'ContainersReady')?.lastTransitionTime).toBe(NOW);
  });

  it('holds Ready back until every readiness gate is True', () => {
    const p = pod('Always', { readinessGates: [{ conditionType: 'example.com/lb' }] });
    const s = computePodStatus({
      ...base,
      pod: p,
      initContainerStatuses: [],
      containerStatuses: [running()],
      podIsTerminal: false,
    });
    expect(s.conditions.find((c) => c.type === 'ContainersReady')?.status).toBe('True');
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReadinessGatesNotReady',
      message: 'corresponding condition of pod readiness gate "example.com/lb" does not exist.',
    });
  });

  it('never leaves a terminal phase', () => {
    const p = pod('Always');
    p.status = { phase: 'Failed' };
    const s = computePodStatus({
      ...base,
      pod: p,
      initContainerStatuses: [],
      containerStatuses: [running()],
      podIsTerminal: false,
    });
    expect(s.phase).toBe('Failed');
  });

  it('forces Failed with the pod-level reason for an exceeded deadline', () => {
    const s = computePodStatus({
      ...base,
      pod: pod('Never'),
      initContainerStatuses: [],
      containerStatuses: [waiting('ContainerCreating')],
      podIsTerminal: true,
      phase: 'Failed',
      reason: 'DeadlineExceeded',
      message: 'Pod was active on the node longer than the specified deadline',
    });
    expect(s).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
  });
});
