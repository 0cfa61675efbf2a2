// Which version of an API group the server serves. The VolumeGroupSnapshot API moved from
// v1beta1 (external-snapshotter v8.0–8.2) to v1beta2 (v8.3+) and will reach v1; the driver
// informs whichever the installed CRDs serve.
import { ApiError } from './errors.ts';
import type { KubeClient } from './kube-client.ts';
import {
  type ApiGroupDiscovery,
  pickServedVersion,
  type ResourceDefinition,
  type UnstructuredObject,
  VOLUME_GROUP_SNAPSHOT_GROUP,
  VOLUME_GROUP_SNAPSHOT_VERSIONS,
  volumeGroupSnapshotContents,
} from './resources.ts';

/** The first of `preferred` the server serves for `group`, or undefined if none (or no such group). */
export async function discoverServedVersion(
  client: KubeClient,
  group: string,
  preferred: readonly string[],
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    const discovery = await client.request<ApiGroupDiscovery>('GET', `/apis/${group}`, { signal });
    return pickServedVersion(discovery, preferred);
  } catch (err) {
    if (err instanceof ApiError && err.isNotFound) return undefined;
    throw err;
  }
}

/** VolumeGroupSnapshotContent in the newest version served, or undefined when the CRD is not installed. */
export async function discoverVolumeGroupSnapshotContents(
  client: KubeClient,
  signal?: AbortSignal,
): Promise<ResourceDefinition<UnstructuredObject> | undefined> {
  const version = await discoverServedVersion(
    client,
    VOLUME_GROUP_SNAPSHOT_GROUP,
    VOLUME_GROUP_SNAPSHOT_VERSIONS,
    signal,
  );
  return version === undefined ? undefined : volumeGroupSnapshotContents(version);
}

/**
 * Whether the server serves `plural` in group/version: a group being served says nothing about a
 * CRD added to it later (EtcdSnapshotSchedule shares its group with the records).
 */
export async function servesResource(
  client: KubeClient,
  group: string,
  version: string,
  plural: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    const list = await client.request<{ resources?: { name?: string }[] }>(
      'GET',
      `/apis/${group}/${version}`,
      {
        signal,
      },
    );
    return (list.resources ?? []).some((r) => r.name === plural);
  } catch (err) {
    if (err instanceof ApiError && err.isNotFound) return false;
    throw err;
  }
}
