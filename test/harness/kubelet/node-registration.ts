// The Node object and its liveness signals, as the kubelet keeps them: register (create, or adopt
// an existing Node of this name), renew the Lease kube-node-lease/<node> every 10 s, and post node
// status (Ready with a fresh lastHeartbeatTime) about every 30 s — so the node lifecycle controller
// never marks the node NotReady or taints it unreachable.
import { totalmem } from 'node:os';
import { V1MicroTime, type V1Node, type V1NodeCondition } from '@kubernetes/client-node';
import type { KubeletConfig } from './config.ts';
import {
  describeError,
  isConflict,
  isNotFound,
  type KubeletApi,
  mergePatch,
  rfc3339,
  strategicMergePatch,
  wireForm,
} from './kube-api.ts';
import type { Log } from './log.ts';

export const KUBELET_VERSION = 'v1.36.3-process';
const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
const LEASE_DURATION_SECONDS = 40;

/** What the node offers the scheduler. */
export function nodeCapacity(): Record<string, string> {
  return {
    cpu: '2',
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: '250',
    'ephemeral-storage': '100Gi',
  };
}

function conditions(now: string, previous: readonly V1NodeCondition[]): V1NodeCondition[] {
  const wanted: Array<[string, 'True' | 'False', string, string]> = [
    ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
    ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
    ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
    ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
  ];
  return wanted.map(([type, status, reason, message]) => {
    const before = previous.find((c) => c.type === type);
    const transition =
      before && before.status === status ? String(wireForm(before.lastTransitionTime) ?? now) : now;
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now as unknown as Date,
      lastTransitionTime: transition as unknown as Date,
    };
  });
}

export interface NodeAgent {
  stop(): Promise<void>;
}

export async function startNodeAgent(api: KubeletApi, config: KubeletConfig, log: Log): Promise<NodeAgent> {
  const name = config.nodeName;
  const capacity = nodeCapacity();
  const labels = {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
  };

  const statusBody = (previous: readonly V1NodeCondition[]) => ({
    status: {
      conditions: conditions(rfc3339(), previous),
      addresses: [
        { type: 'InternalIP', address: config.nodeIP },
        { type: 'Hostname', address: name },
      ],
      capacity,
      allocatable: capacity,
      daemonEndpoints: { kubeletEndpoint: { Port: config.port } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: '',
        osImage: 'process kubelet',
        containerRuntimeVersion: 'process://1',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  });

  const postStatus = async () => {
    const node = wireForm(await api.core.readNode({ name }));
    await api.core.patchNodeStatus(
      { name, body: statusBody(node.status?.conditions ?? []) },
      strategicMergePatch,
    );
    return node;
  };

  // Register.
  try {
    await api.core.createNode({ body: { metadata: { name, labels } } as V1Node });
    log.info('node registered', { node: name });
  } catch (err) {
    if (!isConflict(err)) throw err;
    await api.core.patchNode({ name, body: { metadata: { labels } } }, mergePatch);
    log.info('node exists; adopted it', { node: name });
  }
  const node = await postStatus();
  // The node lifecycle controller lifts this taint once Ready; NodeRestriction may not let a
  // kubelet touch taints at all, so a refusal here is fine.
  const taints = node.spec?.taints ?? [];
  if (taints.some((t) => t.key === NOT_READY_TAINT)) {
    try {
      await api.core.patchNode(
        { name, body: { spec: { taints: taints.filter((t) => t.key !== NOT_READY_TAINT) } } },
        mergePatch,
      );
    } catch (err) {
      log.debug('could not remove the not-ready taint (the node lifecycle controller will)', {
        error: describeError(err),
      });
    }
  }

  const renewLease = async () => {
    const spec = {
      holderIdentity: name,
      leaseDurationSeconds: LEASE_DURATION_SECONDS,
      renewTime: new V1MicroTime(),
    };
    try {
      await api.coordination.patchNamespacedLease(
        {
          name,
          namespace: 'kube-node-lease',
          body: { spec: { ...spec, renewTime: spec.renewTime.toISOString() } },
        },
        mergePatch,
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await api.coordination.createNamespacedLease({
        namespace: 'kube-node-lease',
        body: {
          metadata: {
            name,
            namespace: 'kube-node-lease',
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata?.uid ?? '' }],
          },
          spec,
        },
      });
    }
  };
  await renewLease();

  const every = (seconds: number, what: string, fn: () => Promise<unknown>) =>
    setInterval(() => {
      fn().catch((err: unknown) => log.warn(`${what} failed`, { error: describeError(err) }));
    }, seconds * 1000);
  const leaseTimer = every(config.leaseRenewSeconds ?? 10, 'lease renewal', renewLease);
  const statusTimer = every(config.nodeStatusUpdateSeconds ?? 30, 'node status update', postStatus);

  return {
    async stop() {
      clearInterval(leaseTimer);
      clearInterval(statusTimer);
    },
  };
}
