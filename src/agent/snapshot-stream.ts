// Consumes etcd's Maintenance.Snapshot stream into a sink in large writes, checking the stream as
// it goes: the byte count etcd announced (remaining_bytes of the first message + its blob), and
// the 32-byte SHA-256 trailer over the data. The SHA-256 of the whole stream (= the file) comes
// from the same hashing pass. Writes are coalesced to at least `writeChunkBytes` (blobs of 32 KiB
// would cost a syscall each; one writev takes the blobs as they came, without a copy) and a few may be in flight while the next chunk fills: a write that
// stalls on dirty-page throttling must not stop the receive side at once (measured: with one
// write in flight the agent sat idle 40 % of a 450 MB save). The stream is pulled only as fast as
// the sink drains, so memory stays at (maxWritesInFlight + 1) chunks.
import type { SnapshotMessage } from '../etcd/client/snapshot-decoder.ts';
import { EtcdError } from '../etcd/errors.ts';
import { TRAILER_BYTES, TrailerHasher } from './trailer-hash.ts';

export const DEFAULT_WRITE_CHUNK_BYTES = 4 * 1024 * 1024;
export const DEFAULT_WRITES_IN_FLIGHT = 4;

export interface ChunkSink {
  /**
   * Writes `chunks` (`bytes` in all, in order) at byte `position` of the output; several calls
   * may be pending at once. A list rather than one buffer: writev needs no copy into one.
   */
  write(chunks: readonly Buffer[], bytes: number, position: number): Promise<void>;
}

export interface StreamProgress {
  bytes: number;
  /** The stream's announced size (database + trailer), once known. */
  totalBytes: number | undefined;
}

export interface StreamOptions {
  writeChunkBytes?: number;
  maxWritesInFlight?: number;
  onProgress?: (progress: StreamProgress) => void;
  /** Called with each chunk as it is handed to the sink (tests count write sizes). */
  onWrite?: (bytes: number) => void;
}

export interface StreamResult {
  /** Bytes written: the database and etcd's 32-byte trailer. */
  sizeBytes: number;
  /** SHA-256 of everything written, hex. */
  sha256: string;
  /** etcd's storage version from the stream (etcd ≥ 3.6). */
  storageVersion: string;
}

export async function streamSnapshot(
  messages: AsyncIterable<SnapshotMessage>,
  sink: ChunkSink,
  options: StreamOptions = {},
): Promise<StreamResult> {
  const chunkBytes = options.writeChunkBytes ?? DEFAULT_WRITE_CHUNK_BYTES;
  const trailer = new TrailerHasher();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const maxInFlight = Math.max(1, options.maxWritesInFlight ?? DEFAULT_WRITES_IN_FLIGHT);
  const inFlight: Promise<void>[] = [];
  let position = 0;
  let announced: number | undefined;
  let storageVersion = '';
  let messagesSeen = 0;

  const flush = async () => {
    if (pendingBytes === 0) return;
    const chunks = pending;
    const bytes = pendingBytes;
    pending = [];
    pendingBytes = 0;
    while (inFlight.length >= maxInFlight) await inFlight.shift();
    options.onWrite?.(bytes);
    const write = sink.write(chunks, bytes, position);
    position += bytes;
    // Observed when awaited; this keeps a failure before then from being "unhandled".
    write.catch(() => undefined);
    inFlight.push(write);
  };

  let streamError: unknown;
  try {
    for await (const m of messages) {
      messagesSeen++;
      if (announced === undefined) announced = m.remainingBytes + m.blob.length + TRAILER_BYTES;
      if (m.version) storageVersion = m.version;
      if (m.blob.length === 0) continue;
      trailer.update(m.blob);
      pending.push(m.blob);
      pendingBytes += m.blob.length;
      if (pendingBytes >= chunkBytes) await flush();
      options.onProgress?.({ bytes: trailer.totalBytes, totalBytes: announced });
    }
    await flush();
  } catch (err) {
    streamError = err;
  }
  // Even when the stream broke: no write may still be running when the caller closes the file.
  const settled = await Promise.allSettled(inFlight);
  if (streamError !== undefined) throw streamError;
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;

  const size = trailer.totalBytes;
  if (messagesSeen === 0 || announced === undefined) {
    throw new EtcdError('SNAPSHOT_INCOMPLETE', 'the snapshot stream ended before its first message');
  }
  // An empty database is a stream of one message, the checksum alone: its remaining_bytes (0)
  // cannot announce anything; the trailer check below decides.
  const onlyChecksum = messagesSeen === 1 && size === TRAILER_BYTES;
  if (size !== announced && !onlyChecksum) {
    throw new EtcdError(
      'SNAPSHOT_INCOMPLETE',
      `the snapshot stream ended after ${size} bytes; etcd announced ${announced - TRAILER_BYTES} bytes of database and a ${TRAILER_BYTES}-byte checksum`,
    );
  }
  const check = trailer.finish();
  if (!check.ok) {
    throw new EtcdError(
      'CHECKSUM_MISMATCH',
      `the snapshot stream's SHA-256 trailer ${check.expected || '(missing)'} does not match its data (${check.actual})`,
    );
  }
  return { sizeBytes: size, sha256: check.sha256, storageVersion };
}
