// The Snapshot stream's bytes → its messages, parsed as the HTTP/2 DATA frames arrive: the gRPC
// length-prefixed framing (1 byte compressed flag, 4 bytes big-endian length) around
// SnapshotResponse {header = 1, remaining_bytes = 2 (uint64), blob = 3 (bytes), version = 4}.
// A message's blob is handed on as views into the frames it arrived in — it is never assembled,
// and no buffer is allocated per message — since the blobs are the whole database. Small fields
// (the header, the version) are gathered; unknown fields are skipped by wire type, as protobuf
// requires. The parser is pure: snapshot-http2.ts feeds it from the network.

export interface SnapshotMessage {
  /** Bytes of the database still to come after this message (0 on the last data message and on the checksum). */
  remainingBytes: number;
  /** The blob in order, as one or more views into the received frames (valid until the next push). */
  blob: readonly Buffer[];
  /** The blob's length in bytes (the sum of `blob`'s). */
  blobBytes: number;
  /** etcd's storage version, set by etcd ≥ 3.6. */
  version: string;
}

/** The largest small field (header, version, unknown bytes fields) gathered; etcd's are < 100 bytes. */
const MAX_SMALL_FIELD = 64 * 1024;
/** The largest gRPC message accepted; etcd's are 32 KiB of blob and a few bytes. */
const MAX_MESSAGE = 64 * 1024 * 1024;
const PREFIX_BYTES = 5;

type State =
  | 'prefix' // the 5-byte gRPC message prefix
  | 'tag' // a field's tag varint
  | 'varint' // a wire-type-0 value
  | 'length' // a wire-type-2 length
  | 'blob' // field 3's bytes: passed on as views
  | 'gather' // a small bytes field's bytes: copied
  | 'skip'; // fixed-width or unknown bytes: dropped

export class SnapshotFrameParser {
  #state: State = 'prefix';
  readonly #prefix = Buffer.alloc(PREFIX_BYTES);
  #prefixFill = 0;
  /** Bytes of the current message not yet parsed. */
  #messageLeft = 0;
  // The varint being read (tag, value or length), across frames.
  #varint = 0;
  #varintFactor = 1;
  #varintBytes = 0;
  #field = 0;
  /** Bytes left of the current blob, gathered or skipped field. */
  #fieldLeft = 0;
  #gathered: Buffer[] = [];
  // The message being parsed.
  #remainingBytes = 0;
  #blob: Buffer[] = [];
  #blobBytes = 0;
  #version = '';
  #messages = 0;

  /** Messages completed so far. */
  get messages(): number {
    return this.#messages;
  }

  /** Whether the bytes pushed so far end exactly at a message boundary. */
  get atBoundary(): boolean {
    return this.#state === 'prefix' && this.#prefixFill === 0;
  }

  /** Parses `chunk`; returns the messages it completed, in order. */
  push(chunk: Buffer): SnapshotMessage[] {
    const done: SnapshotMessage[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#state === 'prefix') {
        const n = Math.min(PREFIX_BYTES - this.#prefixFill, chunk.length - pos);
        chunk.copy(this.#prefix, this.#prefixFill, pos, pos + n);
        this.#prefixFill += n;
        pos += n;
        if (this.#prefixFill < PREFIX_BYTES) break;
        this.#startMessage(done);
        continue;
      }
      // Inside a message: never read past its end.
      pos = this.#parseFields(chunk, pos, Math.min(chunk.length, pos + this.#messageLeft));
      if (this.#messageLeft === 0) this.#endMessage(done);
    }
    return done;
  }

  #startMessage(done: SnapshotMessage[]): void {
    this.#prefixFill = 0;
    if (this.#prefix[0] !== 0) {
      throw new Error(
        `SnapshotResponse: compressed message (flag ${this.#prefix[0]}), which was not asked for`,
      );
    }
    const length = this.#prefix.readUInt32BE(1);
    if (length > MAX_MESSAGE)
      throw new Error(`SnapshotResponse: a message of ${length} bytes (limit ${MAX_MESSAGE})`);
    this.#messageLeft = length;
    this.#beginField();
    if (length === 0) this.#endMessage(done);
  }

  #beginField(): void {
    this.#state = 'tag';
    this.#varint = 0;
    this.#varintFactor = 1;
    this.#varintBytes = 0;
  }

  #endMessage(done: SnapshotMessage[]): void {
    if (this.#state !== 'tag' || this.#varintBytes !== 0) {
      throw new Error(`SnapshotResponse: message ends inside field ${this.#field}`);
    }
    done.push({
      remainingBytes: this.#remainingBytes,
      blob: this.#blob,
      blobBytes: this.#blobBytes,
      version: this.#version,
    });
    this.#messages++;
    this.#remainingBytes = 0;
    this.#blob = [];
    this.#blobBytes = 0;
    this.#version = '';
    this.#state = 'prefix';
  }

  /** Parses fields of the current message in chunk[from, end), counting them off the message. */
  #parseFields(chunk: Buffer, from: number, end: number): number {
    let pos = from;
    while (pos < end) {
      const start = pos;
      switch (this.#state) {
        case 'tag':
        case 'varint':
        case 'length': {
          const b = chunk[pos++] as number;
          if (++this.#varintBytes > 10) throw new Error('SnapshotResponse: varint longer than 10 bytes');
          // Values here are tags, lengths and byte counts: below 2^53, so float arithmetic is exact.
          this.#varint += (b & 0x7f) * this.#varintFactor;
          this.#varintFactor *= 128;
          this.#messageLeft--;
          if ((b & 0x80) === 0) this.#varintDone();
          continue;
        }
        case 'blob': {
          const n = Math.min(this.#fieldLeft, end - pos);
          this.#blob.push(chunk.subarray(pos, pos + n));
          this.#blobBytes += n;
          pos += n;
          this.#fieldLeft -= n;
          if (this.#fieldLeft === 0) this.#beginField();
          break;
        }
        case 'gather':
        case 'skip': {
          const n = Math.min(this.#fieldLeft, end - pos);
          if (this.#state === 'gather') this.#gathered.push(Buffer.from(chunk.subarray(pos, pos + n)));
          pos += n;
          this.#fieldLeft -= n;
          if (this.#fieldLeft === 0) this.#fieldDone();
          break;
        }
        default:
          throw new Error(`SnapshotResponse: parser in state ${this.#state} inside a message`);
      }
      this.#messageLeft -= pos - start;
    }
    return pos;
  }

  #varintDone(): void {
    const value = this.#varint;
    const state = this.#state;
    this.#varint = 0;
    this.#varintFactor = 1;
    this.#varintBytes = 0;
    if (state === 'varint') {
      if (this.#field === 2) this.#remainingBytes = value;
      this.#beginField();
      return;
    }
    if (state === 'length') {
      if (value > this.#messageLeft) {
        throw new Error(`SnapshotResponse: field ${this.#field} of ${value} bytes runs past the message`);
      }
      this.#fieldLeft = value;
      if (this.#field === 3) this.#state = 'blob';
      else if (this.#field === 1 || this.#field === 4) {
        if (value > MAX_SMALL_FIELD)
          throw new Error(`SnapshotResponse: field ${this.#field} of ${value} bytes`);
        this.#state = 'gather';
      } else this.#state = 'skip';
      if (value === 0) this.#fieldDone();
      return;
    }
    // A tag: field number and wire type.
    this.#field = Math.floor(value / 8);
    const wireType = value % 8;
    if (wireType === 0) this.#state = 'varint';
    else if (wireType === 2) this.#state = 'length';
    else if (wireType === 1 || wireType === 5) {
      this.#fieldLeft = wireType === 1 ? 8 : 4;
      this.#state = 'skip';
    } else throw new Error(`SnapshotResponse: unsupported wire type ${wireType} (field ${this.#field})`);
  }

  /** A bytes or fixed-width field fully read (a blob's end is #beginField: nothing to keep). */
  #fieldDone(): void {
    if (this.#state === 'gather') {
      const bytes = Buffer.concat(this.#gathered);
      this.#gathered = [];
      if (this.#field === 4) this.#version = bytes.toString('utf8');
    }
    this.#beginField();
  }
}
