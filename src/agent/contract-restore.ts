// The Job contract's part for `agent restore` (docs/restore.md): one member's arguments, the
// report of what a run found and did, and the argv builder. contract.ts re-exports all of it.

/**
 * `agent restore`: one member's data dir from a snapshot file (restore-plan.ts computes the
 * values). `mode` restore swaps the restored data in, keeping the old data beside it;
 * rollback puts the old data back; drop-previous removes it after a restore that succeeded.
 */
export type RestoreArguments =
  | {
      mode: 'restore';
      /** The snapshot file (on the snapshot claim). */
      file: string;
      /** SHA-256 the record holds for the file, hex: checked before anything is touched. */
      sha256: string;
      /** The member's data dir (etcd's --data-dir), on the data claim. */
      dataDir: string;
      /** The restore's UID: names the staging, kept and journal paths beside the data dir. */
      uid: string;
      /** This member's etcd name. */
      name: string;
      /** `name=peerURL,…` of every member. */
      initialCluster: string;
      initialClusterToken: string;
      /** This member's peer URL, as in initialCluster. */
      initialAdvertisePeerUrls: string;
      /** `--bump-revision`; `--mark-compacted` goes with any bump above 0 (etcdutl requires it). */
      bumpRevision: number;
    }
  | { mode: 'rollback'; dataDir: string; uid: string }
  | { mode: 'drop-previous'; dataDir: string; uid: string };

/** What a restore run found and did. */
export type RestoreState =
  | 'restored'
  | 'already-restored'
  | 'rolled-back'
  | 'nothing-to-roll-back'
  | 'previous-dropped'
  /** The run failed (the error says why); what is on disk is whatever a re-run resumes from. */
  | 'failed';

export interface RestoreReport {
  state: RestoreState;
  dataDir: string;
  /** Where the old data dir is kept (while it is). */
  previousDir?: string;
  member?: string;
  bumpRevision?: number;
}

export function restoreCommand(args: RestoreArguments): string[] {
  const common = [`--data-dir=${args.dataDir}`, `--uid=${args.uid}`];
  if (args.mode === 'rollback') return ['agent', 'restore', '--rollback', ...common];
  if (args.mode === 'drop-previous') return ['agent', 'restore', '--drop-previous', ...common];
  return [
    'agent',
    'restore',
    `--file=${args.file}`,
    `--sha256=${args.sha256}`,
    ...common,
    `--name=${args.name}`,
    `--initial-cluster=${args.initialCluster}`,
    `--initial-cluster-token=${args.initialClusterToken}`,
    `--initial-advertise-peer-urls=${args.initialAdvertisePeerUrls}`,
    `--bump-revision=${args.bumpRevision}`,
  ];
}
