// Consumes etcd's Maintenance.Snapshot stream into a sink in large writes, checking the stream as
// it goes: the byte count etcd announced (remaining_bytes of the first message + its blob), and
// the 32-byte SHA-256 trailer over the data. The SHA-256 of the whole stream (= the file) comes
// from the same hashing pass.
//
// The bytes go through a ring of `maxWritesInFlight + 1` slots of `writeChunkBytes` in one
// SharedArrayBuffer: each message's blob is copied from the received HTTP/2 frames into the
// current slot (the one copy of each byte), a full slot is handed both to the sink (one write) and to the
// hasher — on a worker thread by default, so hashing runs beside the receive and the writes — and
// is refilled once both are done. Several writes may be in flight while the next slot fills: a
// write that stalls on dirty-page throttling must not stop the receive side at once (measured:
// with one write in flight the agent sat idle 40 % of a 450 MB save). The stream is pulled only
// as fast as the sink and the hasher drain, so memory stays at the ring's size.
import type { SnapshotMessage } from '../etcd/client/snapshot-frames.ts';
import { EtcdError } from '../etcd/errors.ts';
import { alignedRing } from './part-file.ts';
import { inlineHasher, type RangeHasher, workerHasher } from './range-hasher.ts';
import { TRAILER_BYTES } from './trailer-hash.ts';

export const DEFAULT_WRITE_CHUNK_BYTES = 4 * 1024 * 1024;
export const DEFAULT_WRITES_IN_FLIGHT = 4;

export interface ChunkSink {
  /**
   * Writes `chunks` (`bytes` in all, in order) at byte `position` of the output; several calls
   * may be pending at once. The buffers are ring memory: valid only until the promise settles.
   * Each call is one slot (one chunk at a multiple of `writeChunkBytes` of the ring, page-aligned
   * unless refused: part-file.ts), which the sink may read to the slot's end (PartFile pads the
   * last write to a block).
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
  /** Where the hashing runs: a worker thread (default) or this one. */
  hashing?: 'worker' | 'inline';
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
  const slots = Math.max(1, options.maxWritesInFlight ?? DEFAULT_WRITES_IN_FLIGHT) + 1;
  // Page-aligned, so that a sink may write its slots past the page cache (part-file.ts).
  const ring = alignedRing(slots * chunkBytes);
  const hasher: RangeHasher = (options.hashing === 'inline' ? inlineHasher : workerHasher)(ring);
  // What still reads each slot (its write and its hashing); undefined: free.
  const busy: (Promise<void> | undefined)[] = new Array(slots).fill(undefined);
  let slot = 0;
  let current = Buffer.from(ring, 0, chunkBytes);
  let fill = 0;
  let position = 0;
  let size = 0;
  let announced: number | undefined;
  let storageVersion = '';
  let messagesSeen = 0;

  const flush = async () => {
    if (fill === 0) return;
    const bytes = fill;
    options.onWrite?.(bytes);
    const done = Promise.all([
      sink.write([current.subarray(0, bytes)], bytes, position),
      hasher.update(slot * chunkBytes, bytes),
    ]).then(() => undefined);
    // Observed when awaited; this keeps a failure before then from being "unhandled".
    done.catch(() => undefined);
    busy[slot] = done;
    position += bytes;
    slot = (slot + 1) % slots;
    fill = 0;
    // The next slot is refilled only once its last write and hashing are done.
    await busy[slot];
    busy[slot] = undefined;
    current = Buffer.from(ring, slot * chunkBytes, chunkBytes);
  };

  try {
    let streamError: unknown;
    try {
      for await (const m of messages) {
        messagesSeen++;
        if (announced === undefined) announced = m.remainingBytes + m.blobBytes + TRAILER_BYTES;
        if (m.version) storageVersion = m.version;
        for (const piece of m.blob) {
          for (let from = 0; from < piece.length; ) {
            const n = Math.min(piece.length - from, chunkBytes - fill);
            piece.copy(current, fill, from, from + n);
            fill += n;
            from += n;
            if (fill === chunkBytes) await flush();
          }
        }
        size += m.blobBytes;
        options.onProgress?.({ bytes: size, totalBytes: announced });
      }
      await flush();
    } catch (err) {
      streamError = err;
    }
    // Even when the stream broke: no write may still be running when the caller closes the file.
    const settled = await Promise.allSettled(busy);
    if (streamError !== undefined) throw streamError;
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;

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
    const check = await hasher.finish();
    if (!check.ok) {
      throw new EtcdError(
        'CHECKSUM_MISMATCH',
        `the snapshot stream's SHA-256 trailer ${check.expected || '(missing)'} does not match its data (${check.actual})`,
      );
    }
    return { sizeBytes: size, sha256: check.sha256, storageVersion };
  } finally {
    hasher.close();
  }
}
