// Which flow a restore is in, from its status alone (pure): every flow is resumable from what
// status records, so this is the whole of crash recovery's dispatch.
import type { EtcdRestore } from '../../records/etcd-restore.ts';

export type RestoreFlow =
  | 'validate'
  | 'fetch-remote'
  | 'verify-file'
  | 'quiesce'
  | 'restore-members'
  | 'start'
  | 'verify-result'
  | 'roll-back'
  | 'finished';

export function flowOf(restore: EtcdRestore): RestoreFlow {
  switch (restore.status?.phase) {
    case undefined:
    case 'Pending':
    case 'Validating':
      return 'validate';
    case 'FetchingRemote':
      return 'fetch-remote';
    case 'VerifyingFile':
      return 'verify-file';
    case 'Quiescing':
      return 'quiesce';
    case 'Restoring':
      return 'restore-members';
    case 'Starting':
      return 'start';
    case 'VerifyingResult':
      return 'verify-result';
    case 'RollingBack':
      return 'roll-back';
    case 'Completed':
    case 'Failed':
    case 'RolledBack':
      return 'finished';
  }
}

/** Milliseconds until a finished restore's TTL runs out (≤ 0: delete it now); undefined: keep it. */
export function ttlLeftMs(restore: EtcdRestore, now: Date): number | undefined {
  const ttl = restore.spec.options?.ttlSecondsAfterFinished;
  const at = Date.parse(restore.status?.finishedAt ?? '');
  if (ttl === undefined || !Number.isFinite(at)) return undefined;
  return at + ttl * 1000 - now.getTime();
}
