// The one pod and Job template of every agent Job (save, delete, sweep; restore and upload next):
// the driver image in agent mode, in a pod that passes PodSecurity `restricted`, runs as the
// distroless nonroot user, never calls the Kubernetes API, and leaves its result in the
// termination message. A caller gives only what differs: the owner, the mounts, args and env.
import type { V1Volume } from '@kubernetes/client-node';
import { TERMINATION_MESSAGE_PATH } from '../../agent/contract.ts';
import type { Job } from '../../informers/resources.ts';
import type { Wire } from '../../informers/wire.ts';
import { type JobTracingSettings, jobTracingEnv } from '../../telemetry/agent-telemetry.ts';

/** The nonroot user of distroless images (the driver image's USER). */
export const AGENT_UID = 65532;
const CONTAINER = 'agent';

/** What every agent Job takes from the driver's flags (docs/pipeline.md lists them). */
export interface AgentJobOptions {
  /** The driver image the agent Jobs run (its entrypoint is `etcd-snapshot-driver`). */
  agentImage: string;
  /**
   * The agent container's command, for an image whose entrypoint is not `etcd-snapshot-driver`
   * (the args stay `agent <operation> …`); unset: the image's entrypoint.
   */
  agentCommand?: string[];
  /** ServiceAccount of the Jobs' pods, in each etcd cluster's namespace; its token is not mounted. */
  executorServiceAccount: string;
  /** Pod retries of a Job before it fails (Job spec.backoffLimit); default 0. */
  jobBackoffLimit?: number;
  /** Upper bound of a Job's run time; a record's snapshotTimeoutSeconds lowers it for its save. */
  jobActiveDeadlineSeconds: number;
  /** How long a finished Job stays for inspection before Kubernetes removes it. */
  jobTtlSecondsAfterFinished: number;
  /** Resources of the agent container. */
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  /**
   * Where the agents export their spans (the driver's --trace-exporter / --trace-endpoint): the
   * Jobs get it as OTEL_* env next to TRACEPARENT, so their spans reach the same collector.
   * Unset: Jobs get TRACEPARENT alone (the agent then falls back to OTLP's default endpoint).
   */
  agentTracing?: JobTracingSettings;
}

/** The object a Job belongs to: deleting it deletes the Job (and its pods). */
export interface JobOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** The owner manages the Job (its controller); also blocks the owner's deletion until the Job is gone. */
  controller: boolean;
}

/** A volume of the pod and where the agent container sees it. */
export interface AgentMount {
  volume: Wire<V1Volume>;
  mountPath: string;
  readOnly?: boolean;
}

export interface AgentJobInput {
  name: string;
  namespace: string;
  /** Labels of the Job and of its pods (through the template). */
  labels: Record<string, string>;
  owner: JobOwner;
  /** `agent <operation> …`, built by src/agent/contract.ts. */
  args: string[];
  mounts: readonly AgentMount[];
  /** Plain env of the agent (never a secret: those are mounted). */
  env?: readonly { name: string; value: string }[];
  /** W3C traceparent of the span the Job works for: the agent's spans join that trace. */
  traceparent?: string;
  /** Default: options.jobActiveDeadlineSeconds. */
  activeDeadlineSeconds?: number;
  /** Default: options.jobBackoffLimit, else 0. */
  backoffLimit?: number;
}

export function buildAgentJob(options: AgentJobOptions, input: AgentJobInput): Job {
  const { owner, labels } = input;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels,
      ownerReferences: [
        {
          apiVersion: owner.apiVersion,
          kind: owner.kind,
          name: owner.name,
          uid: owner.uid,
          ...(owner.controller ? { controller: true, blockOwnerDeletion: true } : {}),
        },
      ],
    },
    spec: {
      backoffLimit: input.backoffLimit ?? options.jobBackoffLimit ?? 0,
      activeDeadlineSeconds: input.activeDeadlineSeconds ?? options.jobActiveDeadlineSeconds,
      ttlSecondsAfterFinished: options.jobTtlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: options.executorServiceAccount,
          // The agent never calls the Kubernetes API.
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: AGENT_UID,
            runAsGroup: AGENT_UID,
            // Makes the claims (and the Secrets' files) group-accessible to the agent.
            fsGroup: AGENT_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: CONTAINER,
              image: options.agentImage,
              ...(options.agentCommand?.length ? { command: options.agentCommand } : {}),
              args: input.args,
              env: [...(input.env ?? []), ...tracingEnv(options, input.traceparent)],
              resources: options.resources,
              terminationMessagePath: TERMINATION_MESSAGE_PATH,
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                runAsUser: AGENT_UID,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: input.mounts.map((m) => ({
                name: m.volume.name,
                mountPath: m.mountPath,
                ...(m.readOnly ? { readOnly: true } : {}),
              })),
            },
          ],
          volumes: input.mounts.map((m) => m.volume),
        },
      },
    },
  };
}

/** TRACEPARENT, plus where to export (options.agentTracing) so the agent's spans join the trace. */
function tracingEnv(
  options: AgentJobOptions,
  traceparent: string | undefined,
): { name: string; value: string }[] {
  if (!traceparent) return [];
  if (options.agentTracing === undefined) return [{ name: 'TRACEPARENT', value: traceparent }];
  return jobTracingEnv({ traceparent }, options.agentTracing);
}
