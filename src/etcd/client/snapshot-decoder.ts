// A hand-written decoder for the one message that carries the bulk of the bytes:
// SnapshotResponse {header = 1, remaining_bytes = 2 (uint64), blob = 3 (bytes), version = 4}.
// The generic decoder copies every blob and builds an object per 32 KiB chunk; this one returns a
// view into gRPC's receive buffer, so a gigabyte streams without a second copy. Unknown fields are
// skipped by wire type, as protobuf requires.

export interface SnapshotMessage {
  /** Bytes of the database still to come after this message (0 on the last data message and on the checksum). */
  remainingBytes: number;
  blob: Buffer;
  /** etcd's storage version, set by etcd ≥ 3.6. */
  version: string;
}

function readVarint(buf: Buffer, pos: number): [value: number, next: number] {
  // Values here are lengths and byte counts: far below 2^53, so float arithmetic is exact.
  let value = 0;
  let factor = 1;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('SnapshotResponse: truncated varint');
    value += (b & 0x7f) * factor;
    if ((b & 0x80) === 0) return [value, pos];
    factor *= 128;
  }
  throw new Error('SnapshotResponse: varint longer than 10 bytes');
}

export function decodeSnapshotResponse(buf: Buffer): SnapshotMessage {
  let remainingBytes = 0;
  let blob: Buffer = Buffer.alloc(0);
  let version = '';
  let pos = 0;
  while (pos < buf.length) {
    let tag: number;
    [tag, pos] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 0) {
      let v: number;
      [v, pos] = readVarint(buf, pos);
      if (field === 2) remainingBytes = v;
    } else if (wireType === 2) {
      let len: number;
      [len, pos] = readVarint(buf, pos);
      if (pos + len > buf.length) throw new Error(`SnapshotResponse: field ${field} runs past the message`);
      if (field === 3) blob = buf.subarray(pos, pos + len);
      else if (field === 4) version = buf.toString('utf8', pos, pos + len);
      pos += len;
    } else if (wireType === 1) {
      pos += 8;
    } else if (wireType === 5) {
      pos += 4;
    } else {
      throw new Error(`SnapshotResponse: unsupported wire type ${wireType} (field ${field})`);
    }
  }
  if (pos > buf.length) throw new Error('SnapshotResponse: truncated fixed-width field');
  return { remainingBytes, blob, version };
}
