// etcd ends its snapshot stream with 32 bytes: the SHA-256 of every byte before them
// (server/etcdserver/api/v3rpc/maintenance.go). etcdctl keeps them in the file and
// `etcdutl snapshot restore` checks them, so the file we write keeps them too. This hasher checks
// them in the same pass as the bytes go by: it hashes everything but the last 32 bytes seen so
// far, holding those back until more arrive or the stream ends; the same pass gives the SHA-256
// of the whole file.
import { createHash, type Hash } from 'node:crypto';

export const TRAILER_BYTES = 32;

export interface TrailerCheck {
  /** Whether the last 32 bytes are the SHA-256 of the rest. */
  ok: boolean;
  expected: string;
  actual: string;
  /** SHA-256 of everything, the trailer included (the file's). */
  sha256: string;
}

export class TrailerHasher {
  readonly #data: Hash = createHash('sha256');
  #tail: Buffer = Buffer.alloc(0);
  #total = 0;

  update(chunk: Buffer): void {
    this.#total += chunk.length;
    if (chunk.length >= TRAILER_BYTES) {
      this.#data.update(this.#tail);
      this.#data.update(chunk.subarray(0, chunk.length - TRAILER_BYTES));
      // A copy: the chunk's memory may be reused once the caller is done with it.
      this.#tail = Buffer.from(chunk.subarray(chunk.length - TRAILER_BYTES));
      return;
    }
    const joined = Buffer.concat([this.#tail, chunk]);
    const spill = joined.length - TRAILER_BYTES;
    if (spill > 0) this.#data.update(joined.subarray(0, spill));
    this.#tail = spill > 0 ? joined.subarray(spill) : joined;
  }

  /** Bytes seen, trailer included. */
  get totalBytes(): number {
    return this.#total;
  }

  /**
   * Call once, at the end: whether the last 32 bytes are the SHA-256 of the rest, and the SHA-256
   * of everything (the file's). One hashing pass serves both: the data's state is copied for the
   * trailer check, then the trailer is added for the whole.
   */
  finish(): TrailerCheck {
    const actual = this.#data.copy().digest('hex');
    const expected = this.#tail.length === TRAILER_BYTES ? this.#tail.toString('hex') : '';
    this.#data.update(this.#tail);
    return { ok: expected !== '' && expected === actual, expected, actual, sha256: this.#data.digest('hex') };
  }
}
