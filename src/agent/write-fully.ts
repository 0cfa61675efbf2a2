// A positioned writev that always writes everything. Regular files rarely take less than asked,
// but a signal or a nearly full disk can make one writev short; the rest is written buffer by
// buffer at its own offset, and a write that makes no progress is an error, not a spin.
import type { FileHandle } from 'node:fs/promises';

export type PositionedWriter = Pick<FileHandle, 'writev' | 'write'>;

export async function writevFully(
  fh: PositionedWriter,
  chunks: readonly Buffer[],
  bytes: number,
  position: number,
): Promise<void> {
  const { bytesWritten } = await fh.writev(chunks as Buffer[], position);
  if (bytesWritten === bytes) return;
  let start = 0; // the offset of `c` within this write
  for (const c of chunks) {
    const end = start + c.length;
    let off = Math.max(0, bytesWritten - start);
    while (off < c.length) {
      const n = (await fh.write(c, off, c.length - off, position + start + off)).bytesWritten;
      if (n <= 0) throw new Error(`write at offset ${position + start + off} made no progress`);
      off += n;
    }
    start = end;
  }
}
