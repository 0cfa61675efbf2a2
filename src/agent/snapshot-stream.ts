// Consumes etcd's Maintenance.Snapshot stream into a sink in large writes, checking the stream as
// it goes: the byte count etcd announced (remaining_bytes of the first message + its blob), and
// the 32-byte SHA-256 trailer over the data. The SHA-256 of the whole stream (= the file) is
// computed in the same pass. Writes are coalesced to at least `writeChunkBytes` (small blobs of
// 32 KiB would cost a syscall each) with one write in flight while the next chunk fills; the
// stream is pulled only as fast as the sink drains, so memory stays at about two chunks.
import { createHash } from 'node:crypto';
import type { SnapshotMessage } from '../etcd/client/snapshot-decoder.ts';
import { EtcdError } from '../etcd/errors.ts';
import { TRAILER_BYTES, TrailerHasher } from './trailer-hash.ts';

export const DEFAULT_WRITE_CHUNK_BYTES = 4 * 1024 * 1024;

export interface ChunkSink {
  write(chunk: Buffer): Promise<void>;
}

export interface StreamProgress {
  bytes: number;
  /** The stream's announced size (database + trailer), once known. */
  totalBytes: number | undefined;
}

export interface StreamOptions {
  writeChunkBytes?: number;
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
  const fileHash = createHash('sha256');
  const trailer = new TrailerHasher();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let inFlight: Promise<void> | undefined;
  let announced: number | undefined;
  let storageVersion = '';
  let messagesSeen = 0;

  const flush = async () => {
    if (pendingBytes === 0) return;
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    if (inFlight) await inFlight;
    options.onWrite?.(chunk.length);
    inFlight = sink.write(chunk);
    // Observed when awaited; this keeps a failure before then from being "unhandled".
    inFlight.catch(() => undefined);
  };

  for await (const m of messages) {
    messagesSeen++;
    if (announced === undefined) announced = m.remainingBytes + m.blob.length + TRAILER_BYTES;
    if (m.version) storageVersion = m.version;
    if (m.blob.length === 0) continue;
    fileHash.update(m.blob);
    trailer.update(m.blob);
    pending.push(m.blob);
    pendingBytes += m.blob.length;
    if (pendingBytes >= chunkBytes) await flush();
    options.onProgress?.({ bytes: trailer.totalBytes, totalBytes: announced });
  }
  await flush();
  if (inFlight) await inFlight;

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
  const check = trailer.verify();
  if (!check.ok) {
    throw new EtcdError(
      'CHECKSUM_MISMATCH',
      `the snapshot stream's SHA-256 trailer ${check.expected || '(missing)'} does not match its data (${check.actual})`,
    );
  }
  return { sizeBytes: size, sha256: fileHash.digest('hex'), storageVersion };
}
