// The transforms a copy passes through besides encryption: compression (zstd from Node's zlib,
// or gzip) at a checked level, and a tap that hashes and counts bytes as they go by, so both
// SHA-256s of the manifest come from the upload's single pass.
import { createHash, type Hash } from 'node:crypto';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { constants, createGunzip, createGzip, createZstdCompress, createZstdDecompress } from 'node:zlib';
import type { Compression } from './layout.ts';

/**
 * Levels offered: zstd above 19 needs far more memory (its "ultra" levels); gzip has 1–9. zstd's
 * default is 1: on Kubernetes-like data it compresses as well as 3 for 57% of the CPU
 * (bench/upload-cpu-cost.ts, bench/README.md), and the upload's CPU is what makes save + upload slow.
 */
export const COMPRESSION_LEVELS: Record<
  Exclude<Compression, 'none'>,
  { min: number; max: number; default: number }
> = {
  zstd: { min: 1, max: 19, default: 1 },
  gzip: { min: 1, max: 9, default: 6 },
};

export function isCompression(v: string): v is Compression {
  return v === 'none' || v === 'zstd' || v === 'gzip';
}

/** The level a compression runs at, or a message naming why the given one is refused. */
export function compressionLevel(compression: Compression, level: number | undefined): number | undefined {
  if (compression === 'none') {
    if (level !== undefined) throw new RangeError('a compression level needs a compression (zstd or gzip)');
    return undefined;
  }
  const range = COMPRESSION_LEVELS[compression];
  if (level === undefined) return range.default;
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    throw new RangeError(`${compression} level ${level} is not in [${range.min}, ${range.max}]`);
  }
  return level;
}

export function compressor(compression: Compression, level: number | undefined): Transform {
  if (compression === 'zstd') {
    return createZstdCompress({
      params: {
        [constants.ZSTD_c_compressionLevel]: level ?? COMPRESSION_LEVELS.zstd.default,
        // The frame carries a checksum of its content: damage is found by the decompressor too.
        [constants.ZSTD_c_checksumFlag]: 1,
      },
    });
  }
  if (compression === 'gzip') return createGzip({ level: level ?? COMPRESSION_LEVELS.gzip.default });
  return new PassThrough();
}

export function decompressor(compression: Compression): Transform {
  if (compression === 'zstd') return createZstdDecompress();
  if (compression === 'gzip') return createGunzip();
  return new PassThrough();
}

/**
 * Passes bytes through unchanged, counting them and (unless `hash: false`) hashing them with
 * SHA-256; `onChunk` sees each chunk (a caller hashing them its own way needs no second hash).
 */
export class HashTap extends Transform {
  readonly #hash: Hash | undefined;
  readonly #onChunk: ((chunk: Buffer) => void) | undefined;
  bytes = 0;

  constructor(options: { hash?: boolean; onChunk?: (chunk: Buffer) => void } = {}) {
    super();
    this.#hash = options.hash === false ? undefined : createHash('sha256');
    this.#onChunk = options.onChunk;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#hash?.update(chunk);
    this.bytes += chunk.length;
    this.#onChunk?.(chunk);
    done(null, chunk);
  }

  /** Once, after the stream ended. */
  digest(): string {
    if (!this.#hash) throw new Error('this tap does not hash');
    return this.#hash.digest('hex');
  }
}
