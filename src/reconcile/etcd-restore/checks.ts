// The single checks of Validate that need no API call, pure: the snapshot record is usable, the
// data claims exist and have room, the snapshot's etcd is not newer than the target's.
import type { PersistentVolumeClaim } from '../../informers/resources.ts';
import type { ReadonlyStore } from '../../informers/store-types.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { fail, type StepFailure } from '../step.ts';
import type { ResolvedMember } from './membership.ts';

/** Room the data claim needs: the restored database beside the kept old one. */
export const DATA_CLAIM_FACTOR = 2;

export function checkSnapshotRecord(record: EtcdSnapshot): StepFailure | undefined {
  const name = `EtcdSnapshot ${record.metadata?.namespace}/${record.metadata?.name}`;
  const s = record.status;
  if (record.metadata?.deletionTimestamp)
    return fail('RESTORE_SNAPSHOT_NOT_READY', `${name} is being deleted`);
  if (s?.phase !== 'Ready' || s.readyToUse !== true)
    return fail('RESTORE_SNAPSHOT_NOT_READY', `${name} is ${s?.phase ?? 'Pending'}, not Ready`);
  if (!s.checksumSha256) return fail('RESTORE_SNAPSHOT_NOT_READY', `${name} has no checksumSha256`);
  if (s.revision === undefined) return fail('RESTORE_SNAPSHOT_NOT_READY', `${name} has no revision`);
  return undefined;
}

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
};

/** Bytes of a Kubernetes quantity (10Gi, 500M, 1e9); undefined when it is not one. */
export function quantityBytes(q: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kMGTP]i?|Ki)?$/.exec(q?.trim() ?? '');
  if (!m) return undefined;
  const unit = UNITS[m[2] ?? ''];
  return unit === undefined ? undefined : Math.floor(Number(m[1]) * unit);
}

export function checkDataClaims(
  claims: ReadonlyStore<PersistentVolumeClaim>,
  namespace: string,
  members: readonly ResolvedMember[],
  dbSizeBytes: number | undefined,
): StepFailure | undefined {
  const need = dbSizeBytes === undefined ? undefined : DATA_CLAIM_FACTOR * dbSizeBytes;
  for (const m of members) {
    const claim = claims.get(`${namespace}/${m.dataClaim}`);
    if (!claim || claim.metadata?.deletionTimestamp)
      return fail(
        'RESTORE_DATA_CLAIM_MISSING',
        `data claim ${namespace}/${m.dataClaim} of member ${m.name} does not exist`,
      );
    const size = quantityBytes(claim.status?.capacity?.storage ?? claim.spec?.resources?.requests?.storage);
    if (need !== undefined && size !== undefined && size < need)
      return fail(
        'RESTORE_DATA_CLAIM_TOO_SMALL',
        `data claim ${namespace}/${m.dataClaim} of member ${m.name} holds ${size} bytes; the restore needs ${need} (2 × the snapshot's ${dbSizeBytes})`,
      );
  }
  return undefined;
}

function majorMinor(version: string | undefined): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** etcd reads data of its own minor version and older: a snapshot of a newer etcd is refused. */
export function checkVersion(
  snapshotVersion: string | undefined,
  targetVersion: string | undefined,
): StepFailure | undefined {
  const snap = majorMinor(snapshotVersion);
  const target = majorMinor(targetVersion);
  if (!snap || !target) return undefined;
  const newer = snap[0] > target[0] || (snap[0] === target[0] && snap[1] > target[1]);
  return newer
    ? fail(
        'RESTORE_ETCD_VERSION_TOO_OLD',
        `the snapshot was taken by etcd ${snapshotVersion}; the target runs ${targetVersion}, which cannot read it`,
      )
    : undefined;
}
