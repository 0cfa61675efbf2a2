// `agent verify --remote --out=FILE`: the local side of a fetch. The plain database is written
// to <file>.part as the verify pass streams it, and only after every check of the copy passed is
// it fsynced, renamed into place and its directory fsynced: a file at the final name is always a
// verified copy. A file already there that hashes to the manifest's db (a re-run after the
// rename) is kept, and nothing is downloaded again.
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TrailerHasher } from './trailer-hash.ts';

export interface PlainDb {
  sha256: string;
  sizeBytes: number;
}

/** Whether `file` exists and is that database, trailer included (a partial or other file is not). */
export async function alreadyFetched(file: string, db: PlainDb, signal?: AbortSignal): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile() || info.size !== db.sizeBytes) return false;
  const hasher = new TrailerHasher();
  await pipeline(
    createReadStream(file),
    new Writable({
      write(chunk: Buffer, _enc, done) {
        hasher.update(chunk);
        done();
      },
    }),
    ...(signal ? [{ signal }] : []),
  );
  const read = hasher.finish();
  return read.ok && read.sha256 === db.sha256;
}

/** The database's bytes into <file>.part, in order; `commit` after the checks, `discard` otherwise. */
export class PartFile {
  readonly #file: string;
  readonly #part: string;
  #fh: FileHandle | undefined;
  #position = 0;

  private constructor(file: string, fh: FileHandle) {
    this.#file = file;
    this.#part = `${file}.part`;
    this.#fh = fh;
  }

  static async open(file: string): Promise<PartFile> {
    await mkdir(dirname(file), { recursive: true });
    return new PartFile(file, await open(`${file}.part`, 'w', 0o600));
  }

  async write(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.#fh!.write(chunk, off, chunk.length - off, this.#position + off);
      off += bytesWritten;
    }
    this.#position += chunk.length;
  }

  /** fsync, rename into place, fsync the directory: the final name only ever holds a whole file. */
  async commit(): Promise<void> {
    const fh = this.#fh!;
    this.#fh = undefined;
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.#part, this.#file);
    const dir = await open(dirname(this.#file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** After a failed check: nothing is left behind under either name of this attempt. */
  async discard(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => undefined);
    await unlink(this.#part).catch(() => undefined);
  }
}
