// manifest.json: what a remote copy is, written after its data object (its presence means the
// copy is complete). It describes itself enough to be restored on a cluster that knows nothing
// of it: both SHA-256s (of etcd's database file and of the stored bytes), how the bytes were
// stored, etcd's revision and version, the members when known, and which key encrypted it (its
// id only). parseManifest checks a downloaded one before anything trusts it.
import { type Compression, checkLocation, type SnapshotLocation } from './layout.ts';

export const MANIFEST_FORMAT_VERSION = 1;
/** The client-side encryption format of encryption.ts. */
export const ENCRYPTION_FORMAT = 'aes-256-gcm-chunked-v1';

export type ManifestEncryption =
  | { algorithm: 'none' }
  | { algorithm: typeof ENCRYPTION_FORMAT; keyId: string; chunkBytes: number };

export interface ManifestMember {
  name: string;
  peerURLs: string[];
}

/** One CSI snapshot the copy stands for: a group's record has one per member volume. */
export interface ManifestVolumeSnapshot {
  snapshotId: string;
  sourceVolumeId: string;
}

export interface Manifest {
  formatVersion: typeof MANIFEST_FORMAT_VERSION;
  location: SnapshotLocation;
  /** The save's snapshot ID (the record's name; not a CSI ID). */
  snapshotId?: string;
  /**
   * What a cluster importing the copy needs to answer CSI calls about it (added within format
   * version 1, so older manifests lack them): the CSI request kind and name, the group's ID, and
   * every member's CSI snapshot ID with its source volume.
   */
  request?: { kind: 'snapshot' | 'group'; name: string };
  groupSnapshotId?: string;
  volumeSnapshots?: ManifestVolumeSnapshot[];
  /** etcd's snapshot file, as the save wrote it (trailer included). */
  db: { sha256: string; sizeBytes: number };
  /** The data object as stored (after compression and encryption). */
  object: { key: string; sha256: string; sizeBytes: number };
  compression: { algorithm: Compression; level?: number };
  encryption: ManifestEncryption;
  revision?: number;
  etcdVersion?: string;
  /** The member the snapshot was streamed from (its client URL). */
  sourceMember?: string;
  members?: ManifestMember[];
  /** When etcd's snapshot was taken (RFC 3339). */
  createdAt: string;
  /** When the copy completed (RFC 3339). */
  uploadedAt: string;
  driverVersion: string;
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

const SHA256 = /^[0-9a-f]{64}$/;
const KEY_ID = /^[0-9a-f]{16}$/;

export function serializeManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** A downloaded manifest → a checked Manifest; anything else is a ManifestError saying which field. */
export function parseManifest(text: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ManifestError('manifest.json is not JSON');
  }
  const m = value as Partial<Manifest> | null;
  const bad = (field: string) => new ManifestError(`manifest.json: ${field} is missing or invalid`);
  if (typeof m !== 'object' || m === null) throw bad('the document');
  if (m.formatVersion !== MANIFEST_FORMAT_VERSION) {
    throw new ManifestError(
      `manifest.json: formatVersion ${JSON.stringify(m.formatVersion)} is not ${MANIFEST_FORMAT_VERSION} (written by a newer driver?)`,
    );
  }
  const loc = m.location;
  if (typeof loc !== 'object' || loc === null) throw bad('location');
  try {
    checkLocation(loc);
  } catch (err) {
    throw new ManifestError(`manifest.json: location: ${(err as Error).message}`);
  }
  const sized = (v: unknown): v is { sha256: string; sizeBytes: number } =>
    typeof v === 'object' &&
    v !== null &&
    SHA256.test(String((v as { sha256?: unknown }).sha256)) &&
    Number.isSafeInteger((v as { sizeBytes?: unknown }).sizeBytes) &&
    ((v as { sizeBytes: number }).sizeBytes ?? -1) >= 0;
  if (!sized(m.db)) throw bad('db');
  if (!sized(m.object) || typeof m.object.key !== 'string' || m.object.key === '') throw bad('object');
  const c = m.compression;
  if (!c || !['none', 'zstd', 'gzip'].includes(c.algorithm)) throw bad('compression');
  if (c.level !== undefined && !Number.isInteger(c.level)) throw bad('compression.level');
  const e = m.encryption;
  if (!e || (e.algorithm !== 'none' && e.algorithm !== ENCRYPTION_FORMAT)) throw bad('encryption');
  if (e.algorithm === ENCRYPTION_FORMAT && (!KEY_ID.test(e.keyId) || !Number.isSafeInteger(e.chunkBytes)))
    throw bad('encryption.keyId or chunkBytes');
  if (m.revision !== undefined && !Number.isSafeInteger(m.revision)) throw bad('revision');
  for (const f of ['createdAt', 'uploadedAt'] as const) {
    if (typeof m[f] !== 'string' || Number.isNaN(Date.parse(m[f] as string))) throw bad(f);
  }
  if (typeof m.driverVersion !== 'string') throw bad('driverVersion');
  if (
    m.members !== undefined &&
    (!Array.isArray(m.members) ||
      !m.members.every((x) => typeof x?.name === 'string' && Array.isArray(x.peerURLs)))
  )
    throw bad('members');
  checkCsiFields(m, bad);
  return m as Manifest;
}

/** A CSI snapshot or group ID: letters, digits and "-" (ids.ts of csi/ makes them so). */
const CSI_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;

export const isCsiId = (v: string): boolean => CSI_ID.test(v);

function checkCsiFields(m: Partial<Manifest>, bad: (field: string) => ManifestError): void {
  const r = m.request;
  if (
    r !== undefined &&
    (typeof r !== 'object' ||
      r === null ||
      (r.kind !== 'snapshot' && r.kind !== 'group') ||
      typeof r.name !== 'string' ||
      r.name === '' ||
      r.name.length > 256)
  )
    throw bad('request');
  if (m.groupSnapshotId !== undefined && !CSI_ID.test(String(m.groupSnapshotId)))
    throw bad('groupSnapshotId');
  const v = m.volumeSnapshots;
  if (v === undefined) return;
  const volumeOk = (x: Partial<ManifestVolumeSnapshot> | null) =>
    typeof x === 'object' &&
    x !== null &&
    CSI_ID.test(String(x.snapshotId)) &&
    typeof x.sourceVolumeId === 'string' &&
    x.sourceVolumeId !== '' &&
    x.sourceVolumeId.length <= 320;
  if (!Array.isArray(v) || v.length === 0 || v.length > 64 || !v.every(volumeOk))
    throw bad('volumeSnapshots');
  if (new Set(v.map((x) => x.snapshotId)).size !== v.length)
    throw bad('volumeSnapshots (a repeated snapshotId)');
}

/**
 * `snapshotId=sourceVolumeId,…` (the upload's --volume-snapshots) → volume snapshots. Source
 * volume IDs are the driver's own (`<namespace>/<name>`, `vol-<hash>`): never a "," or "=".
 */
export function parseVolumeSnapshots(text: string): ManifestVolumeSnapshot[] {
  const out = text
    .split(',')
    .filter((e) => e !== '')
    .map((entry) => {
      const at = entry.indexOf('=');
      const snapshotId = entry.slice(0, at);
      const sourceVolumeId = entry.slice(at + 1);
      if (at <= 0 || !CSI_ID.test(snapshotId) || sourceVolumeId === '' || sourceVolumeId.includes('=')) {
        throw new ManifestError(
          `volume snapshot ${JSON.stringify(entry.slice(0, 200))} is not SNAPSHOT_ID=SOURCE_VOLUME_ID`,
        );
      }
      return { snapshotId, sourceVolumeId };
    });
  checkCsiFields(
    { volumeSnapshots: out },
    (field) => new ManifestError(`--volume-snapshots: ${field} is invalid`),
  );
  return out;
}

/** The inverse of parseVolumeSnapshots; undefined when an ID cannot be written in that form. */
export function formatVolumeSnapshots(list: readonly ManifestVolumeSnapshot[]): string | undefined {
  const ok = list.every(
    (v) => CSI_ID.test(v.snapshotId) && v.sourceVolumeId !== '' && !/[,=]/.test(v.sourceVolumeId),
  );
  return ok && list.length > 0 ? list.map((v) => `${v.snapshotId}=${v.sourceVolumeId}`).join(',') : undefined;
}

/** `name=peerURL,name=peerURL2,…` (etcd's --initial-cluster form) → members, peer URLs grouped by name. */
export function parseMembers(text: string): ManifestMember[] {
  const byName = new Map<string, string[]>();
  for (const entry of text.split(',').filter((e) => e !== '')) {
    const at = entry.indexOf('=');
    const name = entry.slice(0, at);
    const url = entry.slice(at + 1);
    if (at <= 0 || !/^[a-z][a-z0-9+.-]*:\/\//.test(url)) {
      throw new ManifestError(`member ${JSON.stringify(entry.slice(0, 200))} is not NAME=PEER_URL`);
    }
    byName.set(name, [...(byName.get(name) ?? []), url]);
  }
  return [...byName].map(([name, peerURLs]) => ({ name, peerURLs }));
}
