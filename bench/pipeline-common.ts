// Shared pieces of the pipeline benchmarks (pipeline-overhead.ts, pipeline-scale.ts): a local
// cluster wired as test/e2e/pipeline/env.ts wires it, a pipeline whose API client counts its
// writes, and the agent's own result read back from a save Job's pod.
import { type AgentResult, parseAgentResult } from '../src/agent/contract.ts';
import type { JsonRequester } from '../src/kube/custom-objects.ts';
import type { Ownership } from '../src/leader/ownership.ts';
import type { Controller } from '../src/reconcile/controller.ts';
import { jobName } from '../src/reconcile/snapshot-records/names.ts';
import type { Logger } from '../src/telemetry/logger.ts';
import { startPipeline } from '../test/e2e/pipeline/env.ts';
import type { DriverEnv } from '../test/integration/csi/driver-env.ts';

export interface WriteCounter {
  writes: number;
  byMethod: Record<string, number>;
}

/** The client with every POST/PUT/PATCH/DELETE counted (what the pipeline writes to the API). */
export function countingClient(client: JsonRequester, counter: WriteCounter): JsonRequester {
  return {
    request(method, path, options) {
      if (method !== 'GET') {
        counter.writes++;
        const kind = `${method} ${
          path
            .replace(/\/namespaces\/[^/]+/, '')
            .replace(/^\/apis?\/(?:[^/]+\/)?v[^/]+\//, '')
            .split('/')[0]
        }${path.endsWith('/status') ? '/status' : ''}`;
        counter.byMethod[kind] = (counter.byMethod[kind] ?? 0) + 1;
      }
      return client.request(method, path, options);
    },
  };
}

/** The e2e's pipeline with the client given (counted), a 1 GiB save's Job limits, and an ownership (a replica's elector) if given. */
export function startCountedPipeline(
  env: DriverEnv,
  log: Logger,
  client: JsonRequester,
  ownership?: Ownership,
): Controller {
  return startPipeline(env, log, {
    client,
    options: { jobActiveDeadlineSeconds: 600, jobTtlSecondsAfterFinished: 3600 },
    ...(ownership ? { ownership } : {}),
  });
}

/** The AgentResult of a record's save Job, from its pod's termination message. */
export async function saveResult(
  env: DriverEnv,
  namespace: string,
  record: string,
): Promise<AgentResult | undefined> {
  const list = await env.kubeClient.request<{
    items: { status?: { containerStatuses?: { state?: { terminated?: { message?: string } } }[] } }[];
  }>(
    'GET',
    `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`job-name=${jobName('save', record)}`)}`,
  );
  for (const pod of list.items) {
    const r = parseAgentResult(pod.status?.containerStatuses?.[0]?.state?.terminated?.message);
    if (r) return r;
  }
  return undefined;
}

export const seconds = (ms: number) => (ms / 1000).toFixed(2);
