// The destructive half of `agent restore`: swapping a complete staging dir in for the member's data
// dir, rolling that back, dropping the kept old data. Every step is a rename or a removal followed
// by an fsync of the parent directory, and every entry point first reads where a previous run
// stopped (from which paths exist and the journal), so a run killed at any point and started again
// converges: there is never a moment without either the old or the restored data dir complete
// under a known name.
//
//   restore:  staging complete ─ journal written ─ data → previous ─ staging → data  (done)
//   rollback: data → discarded ─ previous → data ─ journal removed ─ discarded removed
import { lstat, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AGENT_EXIT_CODES, type RestoreState } from './contract.ts';
import { AgentFailure } from './failure.ts';
import type { RestorePaths } from './restore-plan.ts';
import { writeFileDurably } from './result-output.ts';

/** Written before the swap starts: which restore, and whether there was old data to keep. */
export interface RestoreJournal {
  uid: string;
  hadPrevious: boolean;
  /** Set by --drop-previous before it removes the kept data: a rollback is no longer possible. */
  previousDropped?: boolean;
}

/** Called after each step that changed the disk: tests stop a run there to simulate a crash. */
export type StepHook = (step: string) => void | Promise<void>;

export async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const inconsistent = (paths: RestorePaths, what: string) =>
  new AgentFailure(
    AGENT_EXIT_CODES.RESTORE_FAILED,
    'RESTORE_STATE_INCONSISTENT',
    `${paths.dataDir}: ${what}; not touching anything (inspect the paths beside it by hand)`,
  );

export async function readJournal(paths: RestorePaths): Promise<RestoreJournal | undefined> {
  let text: string;
  try {
    text = await readFile(paths.journal, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const j = JSON.parse(text) as Partial<RestoreJournal>;
    if (typeof j.uid === 'string' && typeof j.hadPrevious === 'boolean') return j as RestoreJournal;
  } catch {
    // reported below
  }
  throw inconsistent(paths, `the journal ${paths.journal} is unreadable`);
}

async function writeJournal(paths: RestorePaths, journal: RestoreJournal): Promise<void> {
  await writeFileDurably(paths.journal, JSON.stringify(journal));
  await fsyncDir(dirname(paths.dataDir));
}

async function step(
  paths: RestorePaths,
  name: string,
  hook: StepHook | undefined,
  action: () => Promise<void>,
) {
  await action();
  await fsyncDir(dirname(paths.dataDir));
  await hook?.(name);
}

/**
 * Puts the complete staging dir in place of the data dir, keeping the old one as `previous`.
 * Resumes a swap a crash interrupted; a finished swap is 'already-restored'.
 */
export async function swapIn(paths: RestorePaths, uid: string, hook?: StepHook): Promise<RestoreState> {
  let journal = await readJournal(paths);
  const staged = await exists(paths.staging);
  if (!journal) {
    if (!staged) throw inconsistent(paths, `no complete staging dir ${paths.staging} to swap in`);
    if (await exists(paths.previous)) throw inconsistent(paths, `${paths.previous} exists before any swap`);
    journal = { uid, hadPrevious: await exists(paths.dataDir) };
    await writeJournal(paths, journal);
    await hook?.('journal');
  }
  // A rollback of this uid stopped midway: the data dir may already be the old data again, so
  // "the swap finished" would report success on it. Only --rollback may go on from here.
  if (await exists(paths.discarded))
    throw inconsistent(
      paths,
      `a rollback of this restore is under way (${paths.discarded}); run --rollback to finish it`,
    );
  if (!(await exists(paths.staging))) {
    if (!(await exists(paths.dataDir)))
      throw inconsistent(paths, 'the swap finished but the data dir is gone');
    return 'already-restored';
  }
  if (journal.hadPrevious && (await exists(paths.dataDir))) {
    if (await exists(paths.previous)) throw inconsistent(paths, `both it and ${paths.previous} exist`);
    await step(paths, 'data-aside', hook, () => rename(paths.dataDir, paths.previous));
  }
  if (await exists(paths.dataDir)) throw inconsistent(paths, 'a data dir appeared that no restore put there');
  await step(paths, 'staging-in', hook, () => rename(paths.staging, paths.dataDir));
  return 'restored';
}

/** Puts the kept old data dir back (or removes a restored one that replaced nothing). */
export async function rollBack(paths: RestorePaths, hook?: StepHook): Promise<RestoreState> {
  const journal = await readJournal(paths);
  if (!journal) {
    // No swap began, or a rollback ended but for its clean-up: the data dir is the old one.
    const finishing = await exists(paths.discarded);
    for (const p of [paths.discarded, paths.stagingPart, paths.staging])
      await rm(p, { recursive: true, force: true });
    return finishing ? 'rolled-back' : 'nothing-to-roll-back';
  }
  const rolling = await exists(paths.discarded);
  // Once --drop-previous has begun, what is left of the old data may be half removed: never put
  // it back over the restored data, whether or not its directory still exists.
  if (
    journal.previousDropped ||
    (journal.hadPrevious && !(await exists(paths.previous)) && !rolling && !(await exists(paths.staging)))
  ) {
    throw new AgentFailure(
      AGENT_EXIT_CODES.NOT_FOUND,
      'RESTORE_PREVIOUS_DATA_DROPPED',
      `${paths.dataDir}: the data it replaced (${paths.previous}) was ${
        journal.previousDropped ? 'removed by --drop-previous' : 'removed'
      }; nothing to roll back to`,
    );
  }
  const restoredInPlace = !(await exists(paths.staging));
  if (restoredInPlace && !rolling && (await exists(paths.dataDir))) {
    await step(paths, 'restored-aside', hook, () => rename(paths.dataDir, paths.discarded));
  }
  if (journal.hadPrevious && (await exists(paths.previous))) {
    if (await exists(paths.dataDir)) throw inconsistent(paths, `both it and ${paths.previous} exist`);
    await step(paths, 'previous-back', hook, () => rename(paths.previous, paths.dataDir));
  }
  await step(paths, 'journal-removed', hook, () => rm(paths.journal, { force: true }));
  for (const p of [paths.discarded, paths.staging, paths.stagingPart])
    await rm(p, { recursive: true, force: true });
  await fsyncDir(dirname(paths.dataDir));
  return 'rolled-back';
}

/** Removes the kept old data after a restore that finished; the journal stays (no rollback any more). */
export async function dropPrevious(paths: RestorePaths, hook?: StepHook): Promise<RestoreState> {
  const journal = await readJournal(paths);
  if (!journal || (await exists(paths.staging)) || !(await exists(paths.dataDir))) {
    throw new AgentFailure(
      AGENT_EXIT_CODES.NOT_FOUND,
      'RESTORE_NOT_FINISHED',
      `${paths.dataDir}: no finished restore of this uid; --drop-previous removes nothing`,
    );
  }
  if (!journal.previousDropped) {
    await writeJournal(paths, { ...journal, previousDropped: true });
    await hook?.('journal-dropped');
  }
  await step(paths, 'previous-removed', hook, () => rm(paths.previous, { recursive: true, force: true }));
  return 'previous-dropped';
}
