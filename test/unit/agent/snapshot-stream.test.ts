// The stream consumer on synthetic etcd streams: chunks are coalesced into large writes, the
// SHA-256 trailer and the announced size are checked, and truncation or a flipped byte fail —
// with the hashing on its worker thread (the agent's default) and inline.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type StreamOptions, streamSnapshot as streamWith } from '../../../src/agent/snapshot-stream.ts';
import { TrailerHasher } from '../../../src/agent/trailer-hash.ts';
import type { SnapshotMessage } from '../../../src/etcd/client/snapshot-frames.ts';
import { EtcdError } from '../../../src/etcd/errors.ts';

/** A message whose blob arrived in two pieces, as over 16 KiB HTTP/2 frames. */
function message(remainingBytes: number, blob: Buffer, version = '3.6.0'): SnapshotMessage {
  const cut = Math.floor(blob.length / 3);
  return {
    remainingBytes,
    blob: [blob.subarray(0, cut), blob.subarray(cut)],
    blobBytes: blob.length,
    version,
  };
}

/** Messages as etcd sends them: 32 KiB blobs with remaining_bytes, then the SHA-256 of the data. */
function etcdStream(db: Buffer, chunk = 32 * 1024): SnapshotMessage[] {
  const messages: SnapshotMessage[] = [];
  for (let sent = 0; sent < db.length; ) {
    const blob = db.subarray(sent, sent + chunk);
    sent += blob.length;
    messages.push(message(db.length - sent, blob));
  }
  messages.push(message(0, createHash('sha256').update(db).digest()));
  return messages;
}

async function* iterate(messages: SnapshotMessage[], failAfter?: number): AsyncGenerator<SnapshotMessage> {
  let i = 0;
  for (const m of messages) {
    if (failAfter !== undefined && i++ === failAfter)
      throw new EtcdError('ETCD_ENDPOINTS_UNREACHABLE', 'stream broke');
    await Promise.resolve();
    yield m;
  }
}

function memorySink() {
  const writes: Buffer[] = [];
  return {
    writes,
    sink: {
      async write(chunks: readonly Buffer[], bytes: number, position: number) {
        expect(position).toBe(writes.reduce((n, w) => n + w.length, 0));
        const chunk = Buffer.concat(chunks);
        expect(chunk.length).toBe(bytes);
        writes.push(chunk);
      },
    },
    get data() {
      return Buffer.concat(writes);
    },
  };
}

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof EtcdError) return err.reason;
    throw err;
  }
  throw new Error('expected an EtcdError');
}

describe.each(['worker', 'inline'] as const)('streamSnapshot, hashing %s', (hashing) => {
  const streamSnapshot = (
    messages: AsyncIterable<SnapshotMessage>,
    sink: Parameters<typeof streamWith>[1],
    options: StreamOptions = {},
  ) => streamWith(messages, sink, { ...options, hashing });

  it('copies blobs that straddle the ring slots in order, whatever their size', async () => {
    const db = randomBytes(700 * 1024 + 5);
    const out = memorySink();
    const result = await streamSnapshot(iterate(etcdStream(db, 10_007)), out.sink, {
      writeChunkBytes: 64 * 1024,
      maxWritesInFlight: 2,
    });
    const expected = Buffer.concat([db, createHash('sha256').update(db).digest()]);
    expect(out.data.equals(expected)).toBe(true);
    expect(result.sha256).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('SNAPSHOT_INCOMPLETE when etcd announced more than it sent, though the trailer matches', async () => {
    const db = randomBytes(100 * 1024);
    const messages = etcdStream(db);
    messages[0] = {
      ...(messages[0] as SnapshotMessage),
      remainingBytes: (messages[0]?.remainingBytes ?? 0) + 1,
    };
    expect(await reasonOf(streamSnapshot(iterate(messages), memorySink().sink))).toBe('SNAPSHOT_INCOMPLETE');
  });

  it('CHECKSUM_MISMATCH when the trailer itself is wrong', async () => {
    const messages = etcdStream(randomBytes(100 * 1024));
    const last = messages[messages.length - 1] as SnapshotMessage;
    messages[messages.length - 1] = message(last.remainingBytes, Buffer.alloc(32, 7));
    expect(await reasonOf(streamSnapshot(iterate(messages), memorySink().sink))).toBe('CHECKSUM_MISMATCH');
  });

  it('fails with the sink’s error when a write fails', async () => {
    const failing = {
      async write() {
        throw new Error('ENOSPC: no space left on device');
      },
    };
    await expect(
      streamSnapshot(iterate(etcdStream(randomBytes(300 * 1024))), failing, { writeChunkBytes: 64 * 1024 }),
    ).rejects.toThrow(/ENOSPC/);
  });

  it('writes the database and etcd trailer in writes of at least the chunk size', async () => {
    const db = randomBytes(5 * 1024 * 1024 + 123);
    const out = memorySink();
    const result = await streamSnapshot(iterate(etcdStream(db)), out.sink, { writeChunkBytes: 1024 * 1024 });
    const expected = Buffer.concat([db, createHash('sha256').update(db).digest()]);
    expect(out.data.equals(expected)).toBe(true);
    expect(result.sizeBytes).toBe(expected.length);
    expect(result.sha256).toBe(createHash('sha256').update(expected).digest('hex'));
    expect(result.storageVersion).toBe('3.6.0');
    // Every write but the last is ≥ 1 MiB: 6 writes, not 161 of 32 KiB.
    expect(out.writes.slice(0, -1).every((w) => w.length >= 1024 * 1024)).toBe(true);
    expect(out.writes.length).toBe(6);
  });

  it('handles an empty database and a size that is a multiple of the chunk (empty last blob)', async () => {
    const empty = memorySink();
    expect((await streamSnapshot(iterate(etcdStream(Buffer.alloc(0))), empty.sink)).sizeBytes).toBe(32);
    const db = randomBytes(64 * 1024);
    const messages = etcdStream(db);
    // etcd may send remaining_bytes = 0 with an empty blob before the checksum.
    messages.splice(messages.length - 1, 0, message(0, Buffer.alloc(0), ''));
    const out = memorySink();
    expect((await streamSnapshot(iterate(messages), out.sink)).sizeBytes).toBe(db.length + 32);
  });

  it('SNAPSHOT_INCOMPLETE when the stream ends early or has no checksum', async () => {
    const db = randomBytes(200 * 1024);
    const messages = etcdStream(db);
    expect(await reasonOf(streamSnapshot(iterate(messages.slice(0, 3)), memorySink().sink))).toBe(
      'SNAPSHOT_INCOMPLETE',
    );
    expect(await reasonOf(streamSnapshot(iterate(messages.slice(0, -1)), memorySink().sink))).toBe(
      'SNAPSHOT_INCOMPLETE',
    );
    expect(await reasonOf(streamSnapshot(iterate([]), memorySink().sink))).toBe('SNAPSHOT_INCOMPLETE');
  });

  it('CHECKSUM_MISMATCH when a byte of the data changed on the way', async () => {
    const db = randomBytes(100 * 1024);
    const messages = etcdStream(db);
    const second = messages[1] as SnapshotMessage;
    const flipped = Buffer.concat(second.blob);
    flipped[17] = (flipped[17] as number) ^ 0x01;
    messages[1] = message(second.remainingBytes, flipped);
    expect(await reasonOf(streamSnapshot(iterate(messages), memorySink().sink))).toBe('CHECKSUM_MISMATCH');
  });

  it('passes a broken stream on, after what it wrote', async () => {
    const out = memorySink();
    const messages = etcdStream(randomBytes(300 * 1024));
    expect(
      await reasonOf(streamSnapshot(iterate(messages, 4), out.sink, { writeChunkBytes: 64 * 1024 })),
    ).toBe('ETCD_ENDPOINTS_UNREACHABLE');
  });

  it('pulls no faster than the sink writes (backpressure)', async () => {
    const db = randomBytes(2 * 1024 * 1024);
    let pulled = 0;
    let maxAhead = 0;
    let written = 0;
    async function* counted() {
      for (const m of etcdStream(db)) {
        pulled += m.blob.length;
        maxAhead = Math.max(maxAhead, pulled - written);
        yield m;
      }
    }
    await streamSnapshot(
      counted(),
      {
        async write(_chunks, bytes) {
          await new Promise((r) => setTimeout(r, 5));
          written += bytes;
        },
      },
      { writeChunkBytes: 256 * 1024, maxWritesInFlight: 2 },
    );
    // At most two chunks in flight and one filling (plus one message).
    expect(maxAhead).toBeLessThanOrEqual(3 * 256 * 1024 + 32 * 1024);
  });
});

describe('TrailerHasher', () => {
  it('finds the trailer across any split of the bytes', () => {
    const db = randomBytes(1000);
    const all = Buffer.concat([db, createHash('sha256').update(db).digest()]);
    for (const cut of [1, 7, 31, 32, 33, 500, 999, 1000, 1001, 1020]) {
      const h = new TrailerHasher();
      for (let i = 0; i < all.length; i += cut) h.update(all.subarray(i, i + cut));
      expect(h.finish()).toMatchObject({ ok: true, sha256: createHash('sha256').update(all).digest('hex') });
    }
    const short = new TrailerHasher();
    short.update(Buffer.alloc(10));
    expect(short.finish().ok).toBe(false);
  });
});
