// `agent restore`: one member's data dir from a snapshot file, the Job-side building block of the
// coming EtcdRestore (issue 12). Nothing destructive happens before the file passed the same checks
// as `agent verify` plus the SHA-256 the record holds, the data dir's parent exists and has room
// for 2 × the database. etcdutl writes into `<data-dir>.restore-<uid>.part`, renamed to
// `<data-dir>.restore-<uid>` once complete; restore-swap.ts then swaps it in. A re-run resumes
// wherever a previous run stopped; a finished one is a no-op.
import { rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { AGENT_EXIT_CODES, type AgentResult, type RestoreArguments, type RestoreReport } from './contract.ts';
import { findOnPath, snapshotRestore } from './etcdutl.ts';
import { AgentFailure } from './failure.ts';
import { restorePaths } from './restore-plan.ts';
import {
  dropPrevious,
  exists,
  fsyncDir,
  readJournal,
  rollBack,
  type StepHook,
  swapIn,
} from './restore-swap.ts';
import type { AgentTracing } from './tracing.ts';
import { runVerify } from './verify.ts';

export interface RestoreDeps {
  log: Logger;
  tracing: AgentTracing;
  signal?: AbortSignal;
  /** etcdutl's path; default from PATH. */
  etcdutl?: string | null;
  /** Free bytes of a directory's filesystem; default statfs. */
  freeBytes?: (dir: string) => Promise<number>;
  /** The filesystem a path is on (undefined when it does not exist); default stat's dev. */
  deviceOf?: (path: string) => Promise<number | undefined>;
  /** Tests: called after each step that changed the disk. */
  onStep?: StepHook;
}

/** The data volume must hold the restored database beside the kept old one. */
export const RESTORE_SPACE_FACTOR = 2;

async function deviceOf(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.dev,
    () => undefined,
  );
}

async function statfsFree(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export async function runRestore(args: RestoreArguments, deps: RestoreDeps): Promise<AgentResult> {
  const paths = restorePaths(args.dataDir, args.uid);
  const parent = dirname(paths.dataDir);
  const started = performance.now();
  return deps.tracing.span(
    'agent.restore',
    { 'restore.mode': args.mode, 'etcd.data_dir': paths.dataDir },
    async () => {
      const parentIsDir = await stat(parent).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!parentIsDir) {
        throw new AgentFailure(
          AGENT_EXIT_CODES.NOT_FOUND,
          'RESTORE_DATA_DIR_MISSING',
          `--data-dir=${paths.dataDir}: its parent ${parent} is not a directory (is the member's data claim mounted?)`,
        );
      }
      // Renames only work inside one filesystem: a data dir that is itself a mount (the claim's
      // root) cannot be moved aside, and its staging would land outside the claim.
      const devices = await Promise.all([paths.dataDir, parent].map((p) => (deps.deviceOf ?? deviceOf)(p)));
      if (devices[0] !== undefined && devices[0] !== devices[1]) {
        throw new AgentFailure(
          AGENT_EXIT_CODES.RESTORE_FAILED,
          'RESTORE_DATA_DIR_IS_MOUNT',
          `--data-dir=${paths.dataDir} is a mount point (another filesystem than ${parent}); the restore swaps the data dir by renames inside the claim, so it must be a directory below the claim's root`,
        );
      }
      const report = (state: RestoreReport['state'], extra: Partial<RestoreReport> = {}): AgentResult => {
        const restore: RestoreReport = { state, dataDir: paths.dataDir, ...extra };
        deps.log.info(
          { ...restore, seconds: Math.round(performance.now() - started) / 1000 },
          `restore: ${state}`,
        );
        return {
          operation: 'restore',
          ok: true,
          restore,
          durationSeconds: Math.round(performance.now() - started) / 1000,
        };
      };
      if (args.mode === 'rollback') return report(await rollBack(paths, deps.onStep));
      if (args.mode === 'drop-previous') return report(await dropPrevious(paths, deps.onStep));

      const member = { member: args.name, bumpRevision: args.bumpRevision };
      const journal = await readJournal(paths);
      const keeps = async () => ((await exists(paths.previous)) ? { previousDir: paths.previous } : {});
      if (journal && !(await exists(paths.staging))) {
        // The swap finished (and maybe --drop-previous ran): nothing to redo, not even the checks.
        await swapIn(paths, args.uid, deps.onStep);
        return report('already-restored', { ...member, ...(await keeps()) });
      }

      let verified: AgentResult | undefined;
      if (!(await exists(paths.staging))) {
        verified = await checkFile(args, deps);
        await checkRoom(parent, verified.sizeBytes ?? 0, deps);
        await deps.tracing.span('etcdutl', { 'etcd.member': args.name }, async () => {
          const etcdutl = etcdutlPath(deps);
          await rm(paths.stagingPart, { recursive: true, force: true });
          await snapshotRestore(
            etcdutl,
            args.file,
            {
              name: args.name,
              initialCluster: args.initialCluster,
              initialClusterToken: args.initialClusterToken,
              initialAdvertisePeerUrls: args.initialAdvertisePeerUrls,
              bumpRevision: args.bumpRevision,
              dataDir: paths.stagingPart,
            },
            deps.signal,
          ).catch(async (err: Error) => {
            // Its half-written output is of no use; a re-run would remove it anyway.
            await rm(paths.stagingPart, { recursive: true, force: true });
            throw new AgentFailure(AGENT_EXIT_CODES.RESTORE_FAILED, 'RESTORE_FAILED', err.message);
          });
          await fsyncDir(parent);
          await deps.onStep?.('staged-part');
          await rename(paths.stagingPart, paths.staging);
          await fsyncDir(parent);
          await deps.onStep?.('staged');
        });
      }
      const state = await deps.tracing.span('swap', {}, () => swapIn(paths, args.uid, deps.onStep));
      const result = report(state, { ...member, ...(await keeps()) });
      if (verified) {
        for (const key of ['file', 'sha256', 'sizeBytes', 'revision', 'etcdHash', 'totalKeys'] as const) {
          if (verified[key] !== undefined) Object.assign(result, { [key]: verified[key] });
        }
      }
      return result;
    },
  );
}

function etcdutlPath(deps: RestoreDeps): string {
  const found = deps.etcdutl === undefined ? findOnPath('etcdutl') : deps.etcdutl;
  if (!found)
    throw new AgentFailure(
      AGENT_EXIT_CODES.RESTORE_FAILED,
      'RESTORE_FAILED',
      'etcdutl is not on PATH; cannot restore',
    );
  return found;
}

/** `agent verify`'s checks (trailer, meta file, etcdutl status), then the record's SHA-256. */
async function checkFile(args: Extract<RestoreArguments, { mode: 'restore' }>, deps: RestoreDeps) {
  const verified = await runVerify({ file: args.file }, { ...deps, etcdutl: etcdutlPath(deps) });
  if (verified.sha256 !== args.sha256) {
    throw new AgentFailure(
      AGENT_EXIT_CODES.CORRUPT_STREAM,
      'CHECKSUM_MISMATCH',
      `${args.file} has SHA-256 ${verified.sha256}; the restore expects ${args.sha256}`,
    );
  }
  return verified;
}

async function checkRoom(parent: string, dbBytes: number, deps: RestoreDeps): Promise<void> {
  const free = await (deps.freeBytes ?? statfsFree)(parent);
  const needed = RESTORE_SPACE_FACTOR * dbBytes;
  if (free < needed) {
    throw new AgentFailure(
      AGENT_EXIT_CODES.DISK_FULL,
      'STORAGE_QUOTA_EXCEEDED',
      `${parent} has ${free} bytes free; restoring the ${dbBytes}-byte database needs ${needed} (×${RESTORE_SPACE_FACTOR})`,
    );
  }
}
