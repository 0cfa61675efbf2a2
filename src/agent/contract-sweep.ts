// The Job contract's part for `agent sweep` (retention, docs/pipeline.md): its arguments, the
// report a sweep leaves in its result, and the argv builder. contract.ts re-exports all of it.
import type { RemoteSweepArguments, RemoteSweepReport } from './contract-remote.ts';
import { remoteSweepFlags } from './contract-remote.ts';

/**
 * `agent sweep`: the snapshot directories of one claim that no record owns. A snapshot directory
 * is a top-level directory of the claim holding `snapshot.db`, its `.part` or its meta file;
 * anything else (lost+found, an operator's own files) is never reported or touched.
 */
export interface SweepArguments {
  /** The claim's mount (SNAPSHOT_MOUNT_PATH). */
  root: string;
  /** Directory names (relative to root) records own: never reported, never deleted. */
  keep: string[];
  /** Directory names to delete, when unowned and old enough (the controller's confirmed orphans). */
  delete: string[];
  /** Younger directories are neither reported nor deleted (a save may be writing one). */
  minAgeSeconds: number;
  /** The cluster's remote snapshots in a store too (the same minimum age). */
  remote?: RemoteSweepArguments;
}

/** How many unowned names a sweep result lists: with the rest of the result it stays far below 4096 bytes. */
export const SWEEP_MAX_NAMES = 40;

export interface SweepReport {
  /** Snapshot directories found (owned or not). */
  scanned: number;
  /** Unowned snapshot directories old enough, in total. */
  unownedCount: number;
  /** The first SWEEP_MAX_NAMES of them, oldest first: the next sweep sees the rest. */
  unowned: string[];
  /** Directories this run removed. */
  deleted: string[];
  /** With SweepArguments.remote. */
  remote?: RemoteSweepReport;
}

/** A directory name a sweep may take (what src/csi/snapshot-records.ts makes: prefix + record name). */
export const SWEEP_DIR_NAME = /^[A-Za-z0-9._-]+$/;

export function sweepCommand(args: SweepArguments): string[] {
  return [
    'agent',
    'sweep',
    `--root=${args.root}`,
    `--keep=${args.keep.join(',')}`,
    `--delete=${args.delete.join(',')}`,
    `--min-age-seconds=${args.minAgeSeconds}`,
    ...(args.remote ? remoteSweepFlags(args.remote) : []),
  ];
}
