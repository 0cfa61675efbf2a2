// `agent sweep`: finds the snapshot directories of one claim that no record owns, and removes the
// ones the controller confirmed. Only top-level directories holding a snapshot's files count
// (anything else in the claim is not ours to judge); a directory younger than the minimum age is
// left alone, since a save may have just created it for a record the controller has not seen yet.
// With a store (--store-config-dir), the cluster's remote snapshots too (sweep-remote.ts).
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  type AgentResult,
  META_FILE_NAME,
  SNAPSHOT_FILE_NAME,
  SWEEP_MAX_NAMES,
  type SweepArguments,
} from './contract.ts';
import { sweepRemote } from './sweep-remote.ts';
import type { AgentTracing } from './tracing.ts';

const SNAPSHOT_FILES = new Set([SNAPSHOT_FILE_NAME, `${SNAPSHOT_FILE_NAME}.part`, META_FILE_NAME]);

interface Candidate {
  name: string;
  /** Newest modification time of the directory and its snapshot files (ms). */
  mtimeMs: number;
}

/** The claim's snapshot directories with their newest modification time. */
async function snapshotDirectories(root: string): Promise<Candidate[]> {
  const found: Candidate[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    let files: string[];
    try {
      files = await readdir(dir);
    } catch {
      continue; // removed meanwhile, or not readable: not ours to judge
    }
    const ours = files.filter((f) => SNAPSHOT_FILES.has(f));
    if (ours.length === 0) continue;
    let mtimeMs = (await stat(dir)).mtimeMs;
    for (const f of ours) {
      const s = await stat(join(dir, f)).catch(() => undefined);
      if (s) mtimeMs = Math.max(mtimeMs, s.mtimeMs);
    }
    found.push({ name: entry.name, mtimeMs });
  }
  return found;
}

/**
 * The first names (at most SWEEP_MAX_NAMES) whose JSON takes at most `bytes`: the termination
 * message holds 4096 bytes, and the counts tell how many more there are.
 */
export function fitting(names: string[], bytes: number): string[] {
  const out: string[] = [];
  let used = 0;
  for (const n of names.slice(0, SWEEP_MAX_NAMES)) {
    used += Buffer.byteLength(JSON.stringify(n)) + 1;
    if (used > bytes) break;
    out.push(n);
  }
  return out;
}

export async function runSweep(
  args: SweepArguments,
  deps: { log: Logger; tracing: AgentTracing; now?: () => number },
): Promise<AgentResult> {
  const now = deps.now ?? Date.now;
  return deps.tracing.span('agent.sweep', { 'snapshot.root': args.root }, async () => {
    const keep = new Set(args.keep);
    const wanted = new Set(args.delete);
    const all = await snapshotDirectories(args.root);
    const oldEnough = (c: Candidate) => now() - c.mtimeMs >= args.minAgeSeconds * 1000;
    const unowned = all
      .filter((c) => !keep.has(c.name) && oldEnough(c))
      .sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
    const deleted: string[] = [];
    for (const c of unowned) {
      if (!wanted.has(c.name)) continue;
      try {
        await rm(join(args.root, c.name), { recursive: true, force: true });
      } catch (err) {
        // One directory the agent may not remove (another user's files) must not hide the report.
        deps.log.warn(
          { dir: c.name, error: (err as Error).message },
          'cannot delete an orphaned snapshot directory',
        );
        continue;
      }
      deleted.push(c.name);
      deps.log.info({ dir: c.name }, 'orphaned snapshot directory deleted');
    }
    const left = unowned.filter((c) => !deleted.includes(c.name));
    deps.log.info(
      { scanned: all.length, unowned: left.length, deleted: deleted.length },
      'snapshot directories swept',
    );
    const remote = args.remote
      ? await sweepRemote(args.remote, { log: deps.log, now, minAgeSeconds: args.minAgeSeconds })
      : undefined;
    // The termination message holds 4096 bytes: the name lists share what the counts leave.
    const [unownedBytes, deletedBytes] = remote ? [1000, 700] : [1800, 1500];
    return {
      operation: 'sweep',
      ok: true,
      sweep: {
        scanned: all.length,
        unownedCount: left.length,
        unowned: fitting(
          left.map((c) => c.name),
          unownedBytes,
        ),
        deleted: fitting(deleted, deletedBytes),
        ...(remote
          ? {
              remote: {
                ...remote,
                unowned: fitting(remote.unowned, unownedBytes),
                deleted: fitting(remote.deleted, deletedBytes),
              },
            }
          : {}),
      },
    };
  });
}
