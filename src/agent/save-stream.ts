// One attempt of `agent save`'s stream: Maintenance.Snapshot from one member into <file>.part in
// large positioned writes, SHA-256 and etcd's trailer checked as the bytes go by, progress logged.
import type { FileHandle } from 'node:fs/promises';
import { EtcdClient } from '../etcd/client/etcd-client.ts';
import type { EtcdCredentials } from '../etcd/credentials.ts';
import { openPartFile } from './part-file.ts';
import type { SaveDeps } from './save.ts';
import { streamSnapshot } from './snapshot-stream.ts';

const PROGRESS_EVERY_MS = 5000;

export interface StreamedPart {
  sha256: string;
  sizeBytes: number;
  source: string;
  createdAt: string;
  streamSeconds: number;
  /** Still open: the caller syncs and closes it. */
  fh: FileHandle;
  /** Whether the bytes went past the page cache (O_DIRECT, part-file.ts) or through it. */
  directWrites: boolean;
}

export async function streamToPart(
  source: string,
  part: string,
  credentials: EtcdCredentials,
  dialTimeoutMs: number,
  deps: SaveDeps,
): Promise<StreamedPart> {
  const { log, signal } = deps;
  const client = new EtcdClient(source, { credentials, dialTimeoutMs });
  const file = await openPartFile(part);
  const started = performance.now();
  const createdAt = new Date().toISOString();
  let lastLog = started;
  let lastBytes = 0;
  try {
    const result = await streamSnapshot(
      client.snapshot({ ...(signal ? { signal } : {}) }),
      {
        // Positioned writes: several may run at once in libuv's pool, in any order.
        write: (chunks, bytes, position) => file.write(chunks, bytes, position),
      },
      {
        ...(deps.writeChunkBytes ? { writeChunkBytes: deps.writeChunkBytes } : {}),
        onProgress({ bytes, totalBytes }) {
          const now = performance.now();
          if (now - lastLog < PROGRESS_EVERY_MS) return;
          log.info(
            {
              source,
              bytes,
              total_bytes: totalBytes,
              percent: totalBytes ? Math.floor((bytes / totalBytes) * 100) : undefined,
              mb_per_second: Math.round(((bytes - lastBytes) / 1e6 / ((now - lastLog) / 1000)) * 10) / 10,
            },
            'streaming snapshot',
          );
          lastLog = now;
          lastBytes = bytes;
        },
      },
    );
    await file.finish(result.sizeBytes);
    const streamSeconds = (performance.now() - started) / 1000;
    return {
      sha256: result.sha256,
      sizeBytes: result.sizeBytes,
      source,
      createdAt,
      streamSeconds,
      fh: file.fh,
      directWrites: file.direct,
    };
  } catch (err) {
    await file.close();
    throw err;
  } finally {
    client.close();
  }
}
