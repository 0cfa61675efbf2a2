// `agent save`: one snapshot of an etcd cluster into <file>, verified in the same pass.
//  1. health check (quorum, leader, a source: the first endpoint when it is a healthy member);
//  2. free space on the target filesystem ≥ --min-free-bytes and ≥ 1.1 × the source's database;
//  3. Maintenance.Snapshot → <file>.part in large writes, SHA-256 and etcd's trailer checked as
//     the bytes go by; a stream broken midway is retried from scratch on another member (twice);
//  4. `etcdutl snapshot status` (when on PATH) for etcd's hash, revision and key count, while
//  5. the file is fsynced; then renamed into place and the directory fsynced;
//  6. the AgentResult into <dir>/snapshot.meta.json (the caller also prints and reports it).
import { type FileHandle, mkdir, open, rename, statfs, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { credentialsFromDir, type EtcdCredentials, NO_CREDENTIALS } from '../etcd/credentials.ts';
import { EtcdError, isAuthError } from '../etcd/errors.ts';
import { type ClusterHealth, checkClusterHealth } from '../etcd/health.ts';
import { AGENT_EXIT_CODES, type AgentResult, META_FILE_NAME, type SaveArguments } from './contract.ts';
import { findOnPath, snapshotStatus } from './etcdutl.ts';
import { AgentFailure } from './failure.ts';
import { writeFileDurably } from './result-output.ts';
import { keyCountAt } from './save-key-count.ts';
import { type StreamedPart, streamToPart } from './save-stream.ts';
import type { AgentTracing } from './tracing.ts';

/** Room kept above the database size: etcd's file grows while we stream, the meta file needs some. */
export const SPACE_FACTOR = 1.1;
const RETRIES = 2;

export interface SaveDeps {
  log: Logger;
  tracing: AgentTracing;
  signal?: AbortSignal;
  /** etcdutl's path; found on PATH when undefined, skipped when null. */
  etcdutl?: string | null;
  /** Free bytes of the filesystem holding `dir` (tests substitute it). */
  freeBytes?: (dir: string) => Promise<number>;
  writeChunkBytes?: number;
}

async function statfsFree(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** Used and available bytes of the filesystem holding `dir`, as `df` counts them. */
export async function storageUsage(dir: string): Promise<{ usedBytes: number; availableBytes: number }> {
  const s = await statfs(dir);
  const block = Number(s.bsize);
  return {
    usedBytes: (Number(s.blocks) - Number(s.bfree)) * block,
    availableBytes: Number(s.bavail) * block,
  };
}

/** The DISK_FULL check: a failure message, or undefined when there is room. */
export function checkFreeSpace(
  free: number,
  dbSizeBytes: number,
  minFreeBytes: number | undefined,
): string | undefined {
  if (minFreeBytes !== undefined && free < minFreeBytes) {
    return `the snapshot storage has ${free} bytes free; --min-free-bytes requires ${minFreeBytes}`;
  }
  // In integers: 900 × 1.1 is 990.0000000000001 in floating point.
  const needed = Math.ceil((dbSizeBytes * Math.round(SPACE_FACTOR * 10)) / 10);
  if (free < needed) {
    return `the snapshot storage has ${free} bytes free; the ${dbSizeBytes}-byte database needs ${needed} (×${SPACE_FACTOR})`;
  }
  return undefined;
}

/** Members to stream from, in order: the preferred one, then the other healthy voting members. */
export function sourceOrder(endpoints: readonly string[], health: ClusterHealth): string[] {
  const healthy = health.members.filter((m) => m.reachable && !m.isLearner && m.endpoint && !m.error);
  const first = endpoints[0];
  const preferred = first && healthy.some((m) => m.endpoint === first) ? first : health.source;
  const rest = healthy
    .filter((m) => m.endpoint !== preferred)
    .sort((a, b) => Number(a.isLeader) - Number(b.isLeader))
    .map((m) => m.endpoint as string);
  return [preferred, ...rest];
}

/** Seconds spent per phase (for the final log line: where a slow save spent its time), each in a span. */
class PhaseClock {
  readonly seconds: Record<string, number> = {};
  readonly #tracing: AgentTracing;

  constructor(tracing: AgentTracing) {
    this.#tracing = tracing;
  }

  run<T>(name: string, attributes: Record<string, string | number>, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    return this.#tracing.span(name, attributes, fn).finally(() => {
      this.seconds[name] =
        Math.round(((this.seconds[name] ?? 0) + (performance.now() - t) / 1000) * 1000) / 1000;
    });
  }
}

/** What every step of one save reads. */
interface SaveRun {
  args: SaveArguments;
  deps: SaveDeps;
  phases: PhaseClock;
  credentials: EtcdCredentials;
  dialTimeoutMs: number;
  dir: string;
  part: string;
}

export async function runSave(args: SaveArguments, deps: SaveDeps): Promise<AgentResult> {
  const started = performance.now();
  return deps.tracing.span(
    'agent.save',
    { 'etcd.snapshot.id': args.snapshotId, 'snapshot.file': args.file },
    async (root) => {
      const run: SaveRun = {
        args,
        deps,
        phases: new PhaseClock(deps.tracing),
        credentials: args.credentialsDir
          ? await credentialsFromDir(args.credentialsDir, args.credentialsSecret, caSourceOf(args.caSecret))
          : NO_CREDENTIALS,
        dialTimeoutMs: (args.dialTimeoutSeconds ?? 5) * 1000,
        dir: dirname(args.file),
        part: `${args.file}.part`,
      };
      const health = await checkSource(run);
      await ensureRoom(run, health);
      const streamed = await streamWithRetries(run, sourceOrder(args.endpoints, health));
      // The SHA-256 and etcd's trailer were checked in the stream's pass.
      root.setAttributes({ 'snapshot.sha256': streamed.sha256, 'snapshot.trailer_verified': true });
      const result: AgentResult = {
        operation: 'save',
        ok: true,
        snapshotId: args.snapshotId,
        file: args.file,
        sha256: streamed.sha256,
        sizeBytes: streamed.sizeBytes,
        member: streamed.source,
        createdAt: streamed.createdAt,
        ...(health.etcdVersion ? { etcdVersion: health.etcdVersion } : {}),
      };
      await checkAndPlaceFile(run, streamed.fh, result);
      if (result.revision !== undefined)
        result.keyCount = await keyCountAt(
          streamed.source,
          result.revision,
          { ...run, signal: deps.signal },
          deps.log,
        );
      const seconds = (performance.now() - started) / 1000;
      result.durationSeconds = Math.round(seconds * 1000) / 1000;
      result.bytesPerSecond = Math.round(streamed.sizeBytes / Math.max(streamed.streamSeconds, 1e-3));
      await writeMetaFile(run, result);
      root.setAttributes({
        'snapshot.size_bytes': result.sizeBytes ?? 0,
        'snapshot.revision': result.revision ?? 0,
        'etcd.member': result.member ?? '',
        'snapshot.direct_writes': streamed.directWrites,
      });
      const { operation: _operation, ...fields } = result;
      // direct_writes: false on a filesystem that refused O_DIRECT (the save is then slower on a
      // node whose page-cache allocation is costly).
      deps.log.info(
        { ...fields, phase_seconds: run.phases.seconds, direct_writes: streamed.directWrites },
        'snapshot saved',
      );
      return result;
    },
  );
}

/** Step 1: quorum, a leader and a source member, logged. */
async function checkSource(run: SaveRun): Promise<ClusterHealth> {
  const { args, deps, dialTimeoutMs } = run;
  const health = await run.phases.run('health', { 'etcd.endpoints': args.endpoints.join(',') }, () =>
    checkClusterHealth(args.endpoints, run.credentials, {
      signal: deps.signal,
      timeoutMs: Math.max(5000, dialTimeoutMs * 2),
      dialTimeoutMs,
    }),
  );
  deps.log.info(
    {
      members: health.memberCount,
      reachable: health.reachableCount,
      leader: health.leaderId,
      source: sourceOrder(args.endpoints, health)[0],
      db_size_bytes: health.dbSizeBytes,
    },
    'etcd cluster healthy',
  );
  return health;
}

/** Step 2: the target directory exists and has room for the database (else DISK_FULL). */
async function ensureRoom(run: SaveRun, health: ClusterHealth): Promise<void> {
  await mkdir(run.dir, { recursive: true });
  const free = await (run.deps.freeBytes ?? statfsFree)(run.dir);
  const noRoom = checkFreeSpace(free, health.dbSizeBytes, run.args.minFreeBytes);
  if (noRoom) throw new AgentFailure(AGENT_EXIT_CODES.DISK_FULL, 'STORAGE_QUOTA_EXCEEDED', noRoom);
}

/** Step 3: the stream into <file>.part, from another member after each broken attempt. */
async function streamWithRetries(run: SaveRun, sources: readonly string[]): Promise<StreamedPart> {
  const { deps, part } = run;
  let attempt = 0;
  let lastError: unknown;
  // Another member for each retry; with fewer members than attempts, the same ones again (a
  // single-member cluster's stream deserves a second try too).
  const attempts = Array.from({ length: RETRIES + 1 }, (_, i) => sources[i % sources.length] as string);
  for (const source of attempts) {
    attempt++;
    try {
      return await run.phases.run('stream', { 'etcd.member': source, attempt }, () =>
        streamToPart(source, part, run.credentials, run.dialTimeoutMs, deps),
      );
    } catch (err) {
      lastError = err;
      await unlink(part).catch(() => undefined);
      if (deps.signal?.aborted || isAuthError(err) || !(err instanceof EtcdError)) throw err;
      deps.log.warn(
        { source, attempt, reason: err.reason, error: err.message },
        'snapshot stream failed; retrying on another member',
      );
    }
  }
  const e = lastError as EtcdError;
  // A stream that kept breaking is an incomplete snapshot, whatever the last member said.
  const reason = e.reason === 'CHECKSUM_MISMATCH' ? e.reason : 'SNAPSHOT_INCOMPLETE';
  throw new AgentFailure(AGENT_EXIT_CODES.CORRUPT_STREAM, reason, `after ${attempt} attempts: ${e.message}`);
}

/**
 * Steps 4 and 5: etcdutl reads the file while the fsync waits for the disk: the written bytes are in
 * the page cache (read back beside the stream when they were written past it, part-file.ts), and
 * the fsync needs no CPU. Run one after the other they cost a 1 GiB save about
 * 0.5 s more. The rename comes after both: a file only gets its final name synced.
 */
async function checkAndPlaceFile(run: SaveRun, fh: FileHandle, result: AgentResult): Promise<void> {
  const { args, deps, part, phases } = run;
  const checked = phases.run('check', {}, async () => {
    const etcdutl = deps.etcdutl === undefined ? findOnPath('etcdutl') : deps.etcdutl;
    if (!etcdutl) {
      deps.log.info('etcdutl is not on PATH: the file is checked by its SHA-256 trailer only');
      return;
    }
    try {
      const status = await snapshotStatus(etcdutl, part, deps.signal);
      result.etcdHash = status.hash;
      result.revision = status.revision;
      result.totalKeys = status.totalKey;
    } catch (err) {
      throw new AgentFailure(
        AGENT_EXIT_CODES.CORRUPT_STREAM,
        'SNAPSHOT_STATUS_FAILED',
        // The message names the file by the name it is left under.
        (err as Error).message.replaceAll(part, args.file),
      );
    }
  });
  // Observed below; this keeps a failure during the fsync from being "unhandled".
  checked.catch(() => undefined);
  await phases.run('fsync', {}, async () => {
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
  const check = await checked.then(
    () => undefined,
    (err: unknown) => err,
  );
  await phases.run('rename', {}, async () => {
    await rename(part, args.file);
    await fsyncDir(run.dir);
  });
  if (check !== undefined) throw check;
}

/** Step 6: the claim's usage (a filesystem that cannot say does not fail a good save) and the meta file. */
async function writeMetaFile(run: SaveRun, result: AgentResult): Promise<void> {
  result.storage = await storageUsage(run.dir).catch(() => undefined);
  if (result.storage === undefined) delete result.storage;
  await writeFileDurably(join(run.dir, META_FILE_NAME), `${JSON.stringify(result, null, 2)}\n`);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** "<ns>/<name>:<key>" → "<key> of Secret <ns>/<name>", as the pipeline names that CA. */
function caSourceOf(caSecret: string | undefined): string | undefined {
  const at = caSecret?.lastIndexOf(':') ?? -1;
  return caSecret && at > 0 ? `${caSecret.slice(at + 1)} of Secret ${caSecret.slice(0, at)}` : undefined;
}
