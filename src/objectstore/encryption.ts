// Client-side encryption of a snapshot's copy: AES-256-GCM over fixed-size chunks, so a db of
// any size streams through in bounded memory and every chunk is authenticated before a byte of
// it is passed on. The format (docs/object-store.md, "Encryption format"):
//
//   header (36 bytes): "ESDENC" | version 0x01 | 0x00 | chunk size (uint32 BE, plaintext bytes)
//                      | key id (8 bytes) | salt (16 random bytes)
//   then chunks:       AES-256-GCM(chunk) | tag (16 bytes)
//
// Every chunk holds `chunk size` plaintext bytes but the last (0 … chunk size). The key is
// HKDF-SHA256(master key, salt, "etcd-snapshot-driver aes-256-gcm-chunked-v1"), one per object,
// so nonces never repeat across objects; a chunk's nonce is 3 zero bytes | its index (uint64 BE)
// | a final flag (0x01 on the last chunk, else 0x00), and its additional data is the header. So
// reordered, dropped or altered chunks fail their tag, a changed header fails every tag, and an
// object cut after any chunk lacks the one chunk sealed as final: truncation is always detected.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export const KEY_BYTES = 32;
export const HEADER_BYTES = 36;
export const TAG_BYTES = 16;
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
const MAGIC = Buffer.from('ESDENC', 'ascii');
const VERSION = 1;
const KEY_ID_BYTES = 8;
const SALT_BYTES = 16;
const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
const HKDF_INFO = 'etcd-snapshot-driver aes-256-gcm-chunked-v1';

export type EncryptionFailure = 'key' | 'format' | 'truncated' | 'corrupt';

export class EncryptionError extends Error {
  override name = 'EncryptionError';
  readonly kind: EncryptionFailure;
  constructor(kind: EncryptionFailure, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** The id recorded for a key: the first 8 bytes of its SHA-256, hex. Names the key, reveals nothing usable. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest().subarray(0, KEY_ID_BYTES).toString('hex');
}

/** A key file's content: 32 bytes in base64 (`head -c 32 /dev/urandom | base64`). Never quoted in errors. */
export function parseKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(t) ? Buffer.from(t, 'base64') : undefined;
  if (key?.length !== KEY_BYTES) {
    throw new EncryptionError(
      'key',
      `the encryption key must be ${KEY_BYTES} bytes in base64 (44 characters)`,
    );
  }
  return key;
}

function nonce(index: number, final: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 3);
  n[11] = final ? 1 : 0;
  return n;
}

function objectKey(master: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, HKDF_INFO, KEY_BYTES));
}

/** Bytes held until a whole chunk (and one byte more: the proof it is not the last) is there. */
class Pending {
  #parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.#parts.push(b);
    this.length += b.length;
  }
  take(n: number): Buffer {
    const all = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts);
    this.#parts = all.length > n ? [all.subarray(n)] : [];
    this.length = all.length - n;
    return all.subarray(0, n);
  }
}

export class EncryptStream extends Transform {
  readonly #key: Buffer;
  readonly #header: Buffer;
  readonly #chunkBytes: number;
  readonly #pending = new Pending();
  #index = 0;
  #headerSent = false;

  constructor(master: Buffer, chunkBytes = DEFAULT_CHUNK_BYTES) {
    super();
    if (chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) throw new RangeError(`chunk size ${chunkBytes}`);
    const salt = randomBytes(SALT_BYTES);
    this.#chunkBytes = chunkBytes;
    this.#key = objectKey(master, salt);
    this.#header = Buffer.concat([
      MAGIC,
      Buffer.from([VERSION, 0]),
      Buffer.alloc(4),
      Buffer.from(keyId(master), 'hex'),
      salt,
    ]);
    this.#header.writeUInt32BE(chunkBytes, 8);
  }

  #seal(plain: Buffer, final: boolean): void {
    if (!this.#headerSent) {
      this.push(this.#header);
      this.#headerSent = true;
    }
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce(this.#index++, final));
    cipher.setAAD(this.#header);
    this.push(Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#pending.push(chunk);
    while (this.#pending.length > this.#chunkBytes) this.#seal(this.#pending.take(this.#chunkBytes), false);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.#seal(this.#pending.take(this.#pending.length), true);
    done();
  }
}

export interface DecryptHeader {
  keyId: string;
  chunkBytes: number;
}

export class DecryptStream extends Transform {
  readonly #master: Buffer;
  readonly #pending = new Pending();
  #header: Buffer | undefined;
  #key: Buffer | undefined;
  #sealedBytes = 0;
  #index = 0;
  /** Set once the header is read. */
  info: DecryptHeader | undefined;

  constructor(master: Buffer) {
    super();
    this.#master = master;
  }

  #readHeader(): void {
    const h = this.#pending.take(HEADER_BYTES);
    if (!h.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new EncryptionError('format', 'the object is not in the encrypted format (no ESDENC header)');
    }
    if (h[6] !== VERSION)
      throw new EncryptionError('format', `encryption format version ${h[6]} is not known`);
    const chunkBytes = h.readUInt32BE(8);
    if (chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
      throw new EncryptionError('format', `the header's chunk size ${chunkBytes} is out of range`);
    }
    const id = h.subarray(12, 12 + KEY_ID_BYTES).toString('hex');
    const mine = keyId(this.#master);
    if (id !== mine) {
      throw new EncryptionError(
        'key',
        `the object was encrypted with key id ${id}; the mounted key has id ${mine}`,
      );
    }
    this.#header = Buffer.from(h);
    this.#key = objectKey(this.#master, h.subarray(12 + KEY_ID_BYTES, HEADER_BYTES));
    this.#sealedBytes = chunkBytes + TAG_BYTES;
    this.info = { keyId: id, chunkBytes };
  }

  #open(sealed: Buffer, final: boolean): Buffer | undefined {
    const decipher = createDecipheriv('aes-256-gcm', this.#key as Buffer, nonce(this.#index, final));
    decipher.setAAD(this.#header as Buffer);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    try {
      decipher.final();
      return plain;
    } catch {
      return undefined;
    }
  }

  #run(fn: () => void, done: TransformCallback): void {
    try {
      fn();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#run(() => {
      this.#pending.push(chunk);
      if (!this.#header && this.#pending.length >= HEADER_BYTES) this.#readHeader();
      while (this.#header && this.#pending.length > this.#sealedBytes) {
        const plain = this.#open(this.#pending.take(this.#sealedBytes), false);
        if (!plain) throw new EncryptionError('corrupt', `chunk ${this.#index} failed authentication`);
        this.#index++;
        this.push(plain);
      }
    }, done);
  }

  override _flush(done: TransformCallback): void {
    this.#run(() => {
      if (!this.#header)
        throw new EncryptionError('truncated', 'the object ends inside the encryption header');
      const rest = this.#pending.take(this.#pending.length);
      if (rest.length < TAG_BYTES) {
        throw new EncryptionError(
          'truncated',
          `the object ends after chunk ${this.#index}, before its final chunk`,
        );
      }
      const plain = this.#open(rest, true);
      if (plain) {
        this.push(plain);
        return;
      }
      // A whole chunk sealed as not final, then the end: the chunks after it were cut off.
      if (this.#open(rest, false)) {
        throw new EncryptionError(
          'truncated',
          `the object ends after chunk ${this.#index}, which is not its final chunk: it was truncated`,
        );
      }
      throw new EncryptionError('corrupt', `chunk ${this.#index} (the last) failed authentication`);
    }, done);
  }
}
