// `agent verify`: re-reads a backup file and checks it against what the save recorded: the size,
// the SHA-256 of the whole file, etcd's own 32-byte trailer (the hash of the database before it)
// and, with etcdutl on PATH, etcd's KV hash and revision.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Reason } from '../reasons/reasons.ts';
import {
  AGENT_EXIT_CODES,
  type AgentResult,
  META_FILE_NAME,
  parseAgentResult,
  type VerifyArguments,
} from './contract.ts';
import { findOnPath, snapshotStatus } from './etcdutl.ts';
import { AgentFailure } from './failure.ts';
import type { AgentTracing } from './tracing.ts';
import { TrailerHasher } from './trailer-hash.ts';

export interface VerifyDeps {
  log: Logger;
  tracing: AgentTracing;
  signal?: AbortSignal;
  etcdutl?: string | null;
}

const corrupt = (reason: Reason, message: string) =>
  new AgentFailure(AGENT_EXIT_CODES.CORRUPT_STREAM, reason, message);

export async function runVerify(args: VerifyArguments, deps: VerifyDeps): Promise<AgentResult> {
  const { tracing, signal } = deps;
  const started = performance.now();
  return tracing.span('agent.verify', { 'snapshot.file': args.file }, async () => {
    const size = await stat(args.file).then(
      (s) => s.size,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          throw new AgentFailure(
            AGENT_EXIT_CODES.NOT_FOUND,
            'SNAPSHOT_STATUS_FAILED',
            `backup file ${args.file} does not exist`,
          );
        }
        throw err;
      },
    );
    const metaPath = join(dirname(args.file), META_FILE_NAME);
    const meta = await readFile(metaPath, 'utf8').then(
      (t) => parseAgentResult(t),
      () => undefined,
    );

    const { sha256, trailer } = await tracing.span('hash', {}, async () => {
      const trailerHash = new TrailerHasher();
      for await (const chunk of createReadStream(args.file, { highWaterMark: 4 * 1024 * 1024, signal })) {
        trailerHash.update(chunk as Buffer);
      }
      const trailer = trailerHash.finish();
      return { sha256: trailer.sha256, trailer };
    });
    if (meta?.sizeBytes !== undefined && meta.sizeBytes !== size) {
      throw corrupt(
        'SNAPSHOT_INCOMPLETE',
        `${args.file} has ${size} bytes; the save wrote ${meta.sizeBytes}`,
      );
    }
    if (!trailer.ok) {
      throw corrupt(
        'CHECKSUM_MISMATCH',
        `${args.file}: etcd's SHA-256 trailer does not match the database before it`,
      );
    }
    if (meta?.sha256 && meta.sha256 !== sha256) {
      throw corrupt(
        'CHECKSUM_MISMATCH',
        `${args.file} has SHA-256 ${sha256}; the save recorded ${meta.sha256}`,
      );
    }

    const result: AgentResult = {
      operation: 'verify',
      ok: true,
      file: args.file,
      sha256,
      sizeBytes: size,
      ...(meta?.snapshotId ? { snapshotId: meta.snapshotId } : {}),
    };
    await tracing.span('check', {}, async () => {
      const etcdutl = deps.etcdutl === undefined ? findOnPath('etcdutl') : deps.etcdutl;
      if (!etcdutl) return;
      const status = await snapshotStatus(etcdutl, args.file, signal).catch((err: Error) => {
        throw corrupt('SNAPSHOT_STATUS_FAILED', err.message);
      });
      if (meta?.etcdHash !== undefined && meta.etcdHash !== status.hash) {
        throw corrupt(
          'CHECKSUM_MISMATCH',
          `${args.file}: etcd hash ${status.hash}, the save recorded ${meta.etcdHash}`,
        );
      }
      if (meta?.revision !== undefined && meta.revision !== status.revision) {
        throw corrupt(
          'CHECKSUM_MISMATCH',
          `${args.file}: revision ${status.revision}, the save recorded ${meta.revision}`,
        );
      }
      result.etcdHash = status.hash;
      result.revision = status.revision;
      result.totalKeys = status.totalKey;
    });
    result.durationSeconds = Math.round(performance.now() - started) / 1000;
    const { operation: _operation, ...fields } = result;
    deps.log.info({ ...fields, meta: meta ? metaPath : 'absent' }, 'snapshot verified');
    return result;
  });
}
