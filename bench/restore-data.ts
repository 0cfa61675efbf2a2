// Kubernetes-like data for the restore benchmark: objects shaped as kube-apiserver stores them
// under /registry/<resource>/<namespace>/<name> (JSON, as it does for custom resources), with
// metadata, labels, annotations, managedFields and a payload that is part text (compresses like
// manifests do) and part base64 of random bytes (certificates, tokens: does not compress).
// Written through etcd's gRPC gateway (/v3/kv/txn), about 1 MiB per transaction, so 1 GiB takes
// about a thousand HTTP requests instead of a process per key.
import { randomBytes, randomUUID } from 'node:crypto';

const RESOURCES = ['configmaps', 'secrets', 'pods', 'deployments', 'events', 'widgets.example.com'];
/** Below etcd's default --max-request-bytes (1.5 MiB) and --max-txn-ops (128). */
const TXN_BYTES = 1024 * 1024;
const TXN_OPS = 100;

function kubeObject(resource: string, namespace: string, name: string, i: number): string {
  const payloadBytes = 4096 + ((i * 7919) % 12288); // 4–16 KiB: sizes vary as real objects do
  const opaque = randomBytes(Math.floor(payloadBytes / 2)).toString('base64');
  const manifest =
    `  replicas: ${i % 5}\n  image: registry.example.com/team-${i % 40}/app:v1.${i % 97}\n`.repeat(
      Math.ceil(payloadBytes / 2 / 80),
    );
  const uid = randomUUID();
  const created = new Date(1_700_000_000_000 + i * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  return JSON.stringify({
    apiVersion: resource.includes('.') ? 'example.com/v1' : 'v1',
    kind: resource,
    metadata: {
      name,
      namespace,
      uid,
      resourceVersion: String(1000 + i),
      generation: 1 + (i % 3),
      creationTimestamp: created,
      labels: { 'app.kubernetes.io/name': `app-${i % 40}`, 'app.kubernetes.io/part-of': namespace },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': manifest.slice(0, 512) },
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'v1',
          time: created,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:data': { '.': {}, 'f:manifest': {}, 'f:opaque': {} },
            'f:metadata': { 'f:labels': {} },
          },
        },
      ],
    },
    data: { manifest, opaque },
  });
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

async function txn(endpoint: string, puts: { key: string; value: string }[]): Promise<void> {
  const res = await fetch(`${endpoint}/v3/kv/txn`, {
    method: 'POST',
    body: JSON.stringify({
      success: puts.map((p) => ({ requestPut: { key: b64(p.key), value: b64(p.value) } })),
    }),
  });
  if (!res.ok)
    throw new Error(`etcd txn at ${endpoint}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
}

/** Writes about `mib` MiB of objects; returns the number of keys written. */
export async function loadKubernetesLikeData(endpoints: string[], mib: number, writers = 4): Promise<number> {
  const target = mib * 1024 * 1024;
  let written = 0;
  let keys = 0;
  const nextBatch = (): { key: string; value: string }[] => {
    const batch: { key: string; value: string }[] = [];
    let bytes = 0;
    while (written < target && bytes < TXN_BYTES && batch.length < TXN_OPS) {
      const i = keys++;
      const resource = RESOURCES[i % RESOURCES.length]!;
      const namespace = `team-${i % 40}`;
      const name = `${resource.split('.')[0]}-${String(i).padStart(7, '0')}`;
      const key = `/registry/${resource}/${namespace}/${name}`;
      const value = kubeObject(resource, namespace, name, i);
      const size = key.length + value.length;
      if (bytes + size > TXN_BYTES && batch.length > 0) {
        keys--;
        break;
      }
      batch.push({ key, value });
      bytes += size;
      written += size;
    }
    return batch;
  };
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let batch = nextBatch(); batch.length > 0; batch = nextBatch()) {
        await txn(endpoints[w % endpoints.length]!, batch);
      }
    }),
  );
  return keys;
}
