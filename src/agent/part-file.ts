// The snapshot's .part file, written past the page cache where the filesystem allows it.
//
// Why O_DIRECT: buffered writes copy every byte into page-cache pages the kernel must first
// allocate, on the stream's path. On the 2-core development VM that allocation is episodic: the
// same 1.1 GiB `dd` took 1.0, 4.4 and 7.5 s buffered (almost all kernel time) and 0.6–1.3 s with
// O_DIRECT (bench/README.md, "Agent save"). The stream's ring is page-aligned memory and its slots
// are written whole, so each write can go straight to the disk.
//
// A write that cannot go direct (a filesystem that refuses O_DIRECT; an unaligned offset or
// buffer) goes through a second, buffered handle on the same file: the kernel keeps the
// two coherent. The last slot is padded to a block and the file cut to its size at the end.
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { writevFully } from './write-fully.ts';

/** Offsets, lengths and buffer addresses of direct writes are multiples of this. */
const DIRECT_ALIGNMENT = 4096;

export interface PartFile {
  /** The buffered handle: sync, stat and close go through it. */
  readonly fh: FileHandle;
  /** Whether any write went past the page cache (the filesystem took O_DIRECT). */
  readonly direct: boolean;
  /**
   * Writes `chunks` (`bytes` in all) at `position`. A single chunk that starts a block of an
   * `alignedRing` may be written up to its next block boundary: the bytes past `bytes` are cut
   * off by `finish`.
   */
  write(chunks: readonly Buffer[], bytes: number, position: number): Promise<void>;
  /** Cuts the file to `size` (past a padded last write) and closes the direct handle. */
  finish(size: number): Promise<void>;
  /** Closes both handles (idempotent). */
  close(): Promise<void>;
}

// The project's TypeScript libs carry no WebAssembly types; this is the one constructor used.
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      Memory: new (d: { initial: number; maximum: number; shared: true }) => { buffer: SharedArrayBuffer };
    };
  }
).WebAssembly;

const alignedBuffers = new WeakSet<ArrayBufferLike>();

/**
 * Shared memory whose start is page-aligned, as direct writes need: WebAssembly memory is (a
 * SharedArrayBuffer's start is wherever malloc put it). Remembered, so that a PartFile knows
 * which views may go direct.
 */
export function alignedRing(bytes: number, allocate = wasmMemory): SharedArrayBuffer {
  try {
    const ring = allocate(bytes);
    alignedBuffers.add(ring);
    return ring;
  } catch {
    // V8 reserves address space for WebAssembly memory beyond its size; where a limit on the
    // process's address space refuses that, the ring is ordinary memory and writes buffered.
    return new SharedArrayBuffer(bytes);
  }
}

function wasmMemory(bytes: number): SharedArrayBuffer {
  const pages = Math.ceil(bytes / 65_536);
  return new wasm.Memory({ initial: pages, maximum: pages, shared: true }).buffer;
}

export interface PartFileOptions {
  /** Opens the direct handle (tests stand in filesystems that refuse O_DIRECT). */
  openDirect?: (path: string) => Promise<Pick<FileHandle, 'writev' | 'write' | 'close'>>;
}

type DirectHandle = Awaited<ReturnType<NonNullable<PartFileOptions['openDirect']>>>;

const openDirectly = (path: string) => open(path, constants.O_WRONLY | constants.O_DIRECT);

export async function openPartFile(path: string, options: PartFileOptions = {}): Promise<PartFile> {
  // Read-write: the buffered handle also reads each direct write back (see warm).
  const fh = await open(path, 'w+', 0o600);
  // No handle: the filesystem refused O_DIRECT (every write then goes through the page cache).
  let directFh: DirectHandle | undefined = await (options.openDirect ?? openDirectly)(path).catch(
    () => undefined,
  );
  let padded = false;
  let wroteDirect = false;
  // Handles given up on (see write); closed once no write can still be using them.
  const retired: DirectHandle[] = [];
  // Each direct write is read back into the page cache, one range after another, beside the
  // stream: etcdutl maps the file for random access (bbolt asks for no readahead), so on a file
  // not in the page cache every 4 KiB page it touches is a read of its own — 14 s for a 1.1 GiB
  // snapshot measured, against 0.6 s once the file is cached. The slot is not held meanwhile: the
  // read goes into a scratch buffer of its own. A failed read costs only speed.
  let warming: Promise<void> = Promise.resolve();
  let scratch: Buffer | undefined;
  const warm = (position: number, bytes: number) => {
    warming = warming
      .then(async () => {
        scratch ??= Buffer.allocUnsafe(Math.min(bytes, 4 * 1024 * 1024));
        for (let done = 0; done < bytes; ) {
          const { bytesRead } = await fh.read(
            scratch,
            0,
            Math.min(scratch.length, bytes - done),
            position + done,
          );
          if (bytesRead === 0) return;
          done += bytesRead;
        }
      })
      .catch(() => undefined);
  };

  const closeDirect = async () => {
    const handles = [...retired, ...(directFh ? [directFh] : [])];
    retired.length = 0;
    directFh = undefined;
    await Promise.all(handles.map((h) => h.close()));
  };

  const directView = (chunks: readonly Buffer[], bytes: number, position: number): Buffer | undefined => {
    const [c] = chunks;
    if (directFh === undefined || chunks.length !== 1 || c === undefined) return undefined;
    if (position % DIRECT_ALIGNMENT !== 0 || c.byteOffset % DIRECT_ALIGNMENT !== 0) return undefined;
    if (!alignedBuffers.has(c.buffer)) return undefined;
    const length = Math.ceil(bytes / DIRECT_ALIGNMENT) * DIRECT_ALIGNMENT;
    if (c.byteOffset + length > c.buffer.byteLength) return undefined;
    return Buffer.from(c.buffer, c.byteOffset, length);
  };

  return {
    fh,
    get direct() {
      return wroteDirect;
    },
    async write(chunks, bytes, position) {
      const view = directView(chunks, bytes, position);
      if (view === undefined || directFh === undefined)
        return writevFully(fh, chunks as Buffer[], bytes, position);
      try {
        await writevFully(directFh, [view], view.length, position);
      } catch (err) {
        // A filesystem that opened with O_DIRECT but refuses its writes: buffered from here on.
        // Other writes may still be running on the handle, so it is closed only at the end.
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        if (directFh !== undefined) retired.push(directFh);
        directFh = undefined;
        return writevFully(fh, chunks as Buffer[], bytes, position);
      }
      wroteDirect = true;
      if (view.length !== bytes) padded = true;
      warm(position, bytes);
    },
    async finish(size) {
      await warming;
      if (padded) await fh.truncate(size);
      await closeDirect();
    },
    async close() {
      await warming;
      await closeDirect().catch(() => undefined);
      await fh.close().catch(() => undefined);
    },
  };
}
