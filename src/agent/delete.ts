// `agent delete`: removes a record's directory and everything in it. Idempotent: a directory
// that is already gone is success. Refuses paths that are not a record's own directory (the
// filesystem root, the claim's mount root) so a bad argument cannot wipe every backup.
import { rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { type AgentResult, type DeleteArguments, SNAPSHOT_MOUNT_PATH } from './contract.ts';
import { UsageError } from './failure.ts';
import type { AgentTracing } from './tracing.ts';

/** The directory to delete, resolved; a UsageError when it is not a snapshot's own. */
export function deletableDir(dir: string, protectedRoots: readonly string[] = []): string {
  const resolved = resolve(dir);
  const roots = ['/', SNAPSHOT_MOUNT_PATH, ...protectedRoots].map((r) => resolve(r));
  if (roots.includes(resolved))
    throw new UsageError(`--dir="${dir}" is not a snapshot's own directory; refusing to delete it`);
  return resolved;
}

export async function runDelete(
  args: DeleteArguments,
  deps: { log: Logger; tracing: AgentTracing; protectedRoots?: string[] },
): Promise<AgentResult> {
  const dir = deletableDir(args.dir, deps.protectedRoots);
  return deps.tracing.span('agent.delete', { 'snapshot.dir': dir }, async () => {
    const existed = await stat(dir).then(
      () => true,
      () => false,
    );
    await rm(dir, { recursive: true, force: true });
    deps.log.info(
      { dir, existed },
      existed ? 'snapshot directory deleted' : 'snapshot directory was already gone',
    );
    return { operation: 'delete', ok: true, file: dir };
  });
}
