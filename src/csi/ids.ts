// The driver's IDs. Each is deterministic, so a repeated request finds what the first one made,
// and each leads to its record through an informer index (never a list):
//
//   volume ID          <namespace>/<name>        the EtcdSourceVolume record, else the PVC <namespace>/<name>
//                                                (csi-provisioner's handle is <pvc-namespace>/<pvc-name>,
//                                                <pvc-name>-<h16> while a deleted claim's volume holds that;
//                                                without a claim the name is vol-<hash(request name)>)
//   group snapshot ID  grp-<h20>                 h20 = hash of the request name; index group-snapshot-id
//   member snapshot ID grp-<h20>-<h12>           h12 = hash of the source volume ID; index snapshot-id
//   snapshot ID        snap-<h20>                CreateSnapshot; h20 = hash of the request name; index snapshot-id
//
// Hashes are SHA-256 in lowercase base32; 20 characters are 100 bits. Every ID fits the 128 bytes
// CSI allows. A member ID starts with its group's ID, so a group delete can tell a foreign ID.
import { hashId } from '../records/hash-id.ts';

export { hashId } from '../records/hash-id.ts';

export interface VolumeKey {
  namespace: string;
  name: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

/** `<namespace>/<name>` with Kubernetes name syntax, or undefined when malformed. */
export function parseVolumeId(id: string): VolumeKey | undefined {
  const parts = id.split('/');
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  return isDnsLabel(namespace) && isDnsSubdomain(name) ? { namespace, name } : undefined;
}

export function formatVolumeId(key: VolumeKey): string {
  return `${key.namespace}/${key.name}`;
}

/** Record name of a volume created without a claim: request names need not be Kubernetes names. */
export function volumeRecordName(requestName: string): string {
  return `vol-${hashId(['volume', requestName], 20)}`;
}

/**
 * Record name of a claim's volume while `<claim>` still names the volume of a deleted claim of the
 * same name (its PV Retain, or its DeleteVolume not come yet — Velero re-creates claims under their
 * old names): the claim's name and a hash of the new volume's name, at most 253 characters.
 */
export function successorVolumeRecordName(claimName: string, volumeName: string): string {
  const prefix = claimName.slice(0, 236).replace(/[-.]+$/, '');
  return `${prefix}-${hashId(['claim-volume', volumeName], 16)}`;
}

export function groupSnapshotId(requestName: string): string {
  return `grp-${hashId(['group', requestName], 20)}`;
}

export function memberSnapshotId(groupId: string, sourceVolumeId: string): string {
  return `${groupId}-${hashId(['member', sourceVolumeId], 12)}`;
}

export function singleSnapshotId(requestName: string): string {
  return `snap-${hashId(['snapshot', requestName], 20)}`;
}

const GROUP_ID = /^grp-[a-z2-7]{20}$/;
const MEMBER_ID = /^(grp-[a-z2-7]{20})-[a-z2-7]{12}$/;

const SINGLE_ID = /^snap-[a-z2-7]{20}$/;

export function isSingleSnapshotId(id: string): boolean {
  return SINGLE_ID.test(id);
}

export function isGroupSnapshotId(id: string): boolean {
  return GROUP_ID.test(id);
}

/** The group a member snapshot ID belongs to, by its form alone. */
export function groupOfSnapshotId(id: string): string | undefined {
  return MEMBER_ID.exec(id)?.[1];
}

/**
 * Record name for (request, etcd cluster): readable prefix from the cluster name, hash of
 * everything that makes it unique. At most 47 characters, so names derived from it (Jobs
 * `snapshot-save-<name>`) stay within 63.
 */
export function snapshotRecordName(
  kind: 'snapshot' | 'group',
  requestName: string,
  clusterKey: string,
): string {
  const clusterName = clusterKey.slice(clusterKey.indexOf('/') + 1);
  const prefix = clusterName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 30)
    .replace(/^-+|-+$/g, '');
  const hash = hashId([kind, requestName, clusterKey], 16);
  return prefix ? `${prefix}-${hash}` : `etcd-${hash}`;
}
