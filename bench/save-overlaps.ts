// Whether two save Jobs of one etcd cluster ever ran at once, from the Jobs' startTime and
// completionTime (the API's 1 s resolution: an overlap is a start strictly before another's
// completion). Shared by the pipeline-scale and many-clusters benches.
import type { JsonRequester } from '../src/kube/custom-objects.ts';

const SAVE_JOBS = encodeURIComponent('snapshot.etcd-snapshot-driver.io/operation=save');
const CLUSTER_LABEL = 'snapshot.etcd-snapshot-driver.io/cluster';

export interface SaveOverlaps {
  jobs: number;
  overlaps: number;
}

export async function saveJobOverlaps(client: JsonRequester, namespace: string): Promise<SaveOverlaps> {
  const list = await client.request<{
    items: {
      metadata: { name: string; labels?: Record<string, string> };
      status?: { startTime?: string; completionTime?: string };
    }[];
  }>('GET', `/apis/batch/v1/namespaces/${namespace}/jobs?labelSelector=${SAVE_JOBS}`);
  const byCluster = new Map<string, { start: number; end: number }[]>();
  for (const j of list.items) {
    const c = j.metadata.labels?.[CLUSTER_LABEL] ?? '?';
    const start = Date.parse(j.status?.startTime ?? '');
    const end = Date.parse(j.status?.completionTime ?? '');
    byCluster.set(c, [...(byCluster.get(c) ?? []), { start, end }]);
  }
  let overlaps = 0;
  for (const runs of byCluster.values()) {
    runs.sort((a, b) => a.start - b.start);
    for (let i = 1; i < runs.length; i++) if (runs[i]!.start < runs[i - 1]!.end) overlaps++;
  }
  return { jobs: list.items.length, overlaps };
}
