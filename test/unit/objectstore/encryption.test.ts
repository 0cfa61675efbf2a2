// The chunked AES-256-GCM format: round trips at every size around a chunk boundary, and every
// damage (a flipped bit, a cut, reordered chunks, appended bytes, another key) refused by kind.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { compressionLevel, compressor, decompressor, HashTap } from '../../../src/objectstore/codec.ts';
import {
  DecryptStream,
  EncryptionError,
  EncryptStream,
  HEADER_BYTES,
  keyId,
  parseKey,
  TAG_BYTES,
} from '../../../src/objectstore/encryption.ts';

const key = randomBytes(32);
const CHUNK = 64;

/** Runs `data` through the transforms, in pieces of `piece` bytes, and collects the output. */
async function through(data: Buffer, transforms: NodeJS.ReadWriteStream[], piece = 7): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces = Array.from({ length: Math.ceil(data.length / piece) }, (_, i) =>
    data.subarray(i * piece, (i + 1) * piece),
  );
  await pipeline(Readable.from(pieces), ...(transforms as [NodeJS.ReadWriteStream]), async (source) => {
    for await (const c of source as AsyncIterable<Buffer>) out.push(c);
  });
  return Buffer.concat(out);
}

const encrypt = (data: Buffer) => through(data, [new EncryptStream(key, CHUNK)]);

async function decryptFailure(sealed: Buffer, withKey = key): Promise<EncryptionError> {
  try {
    await through(sealed, [new DecryptStream(withKey)], 50);
  } catch (err) {
    expect(err).toBeInstanceOf(EncryptionError);
    return err as EncryptionError;
  }
  throw new Error('decrypted');
}

describe('chunked AES-256-GCM', () => {
  it.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])(
    'round-trips %i bytes',
    async (n) => {
      const plain = randomBytes(n);
      const sealed = await encrypt(plain);
      const chunks = Math.max(1, Math.ceil(n / CHUNK));
      expect(sealed.length).toBe(HEADER_BYTES + n + chunks * TAG_BYTES);
      expect(await through(sealed, [new DecryptStream(key)], 13)).toEqual(plain);
    },
  );

  it('writes magic, version, chunk size and key id in the header, and a fresh salt per object', async () => {
    const a = await encrypt(Buffer.from('x'));
    const b = await encrypt(Buffer.from('x'));
    expect(a.subarray(0, 6).toString()).toBe('ESDENC');
    expect(a[6]).toBe(1);
    expect(a.readUInt32BE(8)).toBe(CHUNK);
    expect(a.subarray(12, 20).toString('hex')).toBe(keyId(key));
    expect(a.subarray(20, 36).equals(b.subarray(20, 36))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it('finds an object cut after a whole chunk', async () => {
    const sealed = await encrypt(randomBytes(3 * CHUNK));
    const cut = sealed.subarray(0, HEADER_BYTES + 2 * (CHUNK + TAG_BYTES));
    const err = await decryptFailure(cut);
    expect(err.kind).toBe('truncated');
    expect(err.message).toContain('not its final chunk');
  });

  it('finds an object cut inside a chunk or the header', async () => {
    const sealed = await encrypt(randomBytes(3 * CHUNK));
    expect((await decryptFailure(sealed.subarray(0, sealed.length - 3))).kind).toBe('corrupt');
    expect((await decryptFailure(sealed.subarray(0, HEADER_BYTES + 5))).kind).toBe('truncated');
    expect((await decryptFailure(sealed.subarray(0, HEADER_BYTES))).kind).toBe('truncated');
    expect((await decryptFailure(sealed.subarray(0, 10))).kind).toBe('truncated');
  });

  it('refuses a flipped bit in data, tag or header', async () => {
    const sealed = await encrypt(randomBytes(2 * CHUNK + 3));
    for (const at of [HEADER_BYTES + 3, HEADER_BYTES + CHUNK + 2, sealed.length - 1, 24]) {
      const bad = Buffer.from(sealed);
      bad[at] = (bad[at] as number) ^ 1;
      expect((await decryptFailure(bad)).kind).toBe('corrupt');
    }
  });

  it('refuses reordered chunks and appended bytes', async () => {
    const sealed = await encrypt(randomBytes(3 * CHUNK));
    const s = CHUNK + TAG_BYTES;
    const h = sealed.subarray(0, HEADER_BYTES);
    const c = (i: number) => sealed.subarray(HEADER_BYTES + i * s, HEADER_BYTES + (i + 1) * s);
    expect((await decryptFailure(Buffer.concat([h, c(1), c(0), c(2)]))).kind).toBe('corrupt');
    expect((await decryptFailure(Buffer.concat([sealed, Buffer.alloc(TAG_BYTES)]))).kind).toBe('corrupt');
  });

  it('names both key ids when the mounted key is another one, and refuses a foreign object', async () => {
    const sealed = await encrypt(Buffer.from('secret data'));
    const other = randomBytes(32);
    const err = await decryptFailure(sealed, other);
    expect(err.kind).toBe('key');
    expect(err.message).toContain(keyId(key));
    expect(err.message).toContain(keyId(other));
    expect((await decryptFailure(randomBytes(100))).kind).toBe('format');
  });

  it('reads a 32-byte base64 key and quotes nothing of a bad one', () => {
    expect(parseKey(`${key.toString('base64')}\n`)).toEqual(key);
    expect(keyId(key)).toMatch(/^[0-9a-f]{16}$/);
    for (const bad of ['short', randomBytes(16).toString('base64'), `${key.toString('hex')}`]) {
      expect(() => parseKey(bad)).toThrow(/must be 32 bytes in base64/);
      try {
        parseKey(bad);
      } catch (e) {
        expect((e as Error).message).not.toContain(bad);
      }
    }
  });
});

describe('compression and the hash tap', () => {
  it.each(['zstd', 'gzip', 'none'] as const)('round-trips through %s', async (algorithm) => {
    const plain = Buffer.from('{"kind":"ConfigMap","metadata":{"name":"x"}}\n'.repeat(2000));
    const tap = new HashTap();
    const stored = await through(plain, [compressor(algorithm, undefined), tap], 1000);
    expect(tap.bytes).toBe(stored.length);
    if (algorithm !== 'none') expect(stored.length).toBeLessThan(plain.length / 10);
    expect(await through(stored, [decompressor(algorithm)], 100)).toEqual(plain);
  });

  it('checks levels', () => {
    expect(compressionLevel('zstd', undefined)).toBe(1);
    expect(compressionLevel('gzip', 9)).toBe(9);
    expect(compressionLevel('none', undefined)).toBeUndefined();
    expect(() => compressionLevel('zstd', 22)).toThrow('zstd level 22 is not in [1, 19]');
    expect(() => compressionLevel('gzip', 0)).toThrow('[1, 9]');
    expect(() => compressionLevel('none', 3)).toThrow('needs a compression');
  });
});
