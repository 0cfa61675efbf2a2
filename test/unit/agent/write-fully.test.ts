import { describe, expect, it } from 'vitest';
import { type PositionedWriter, writevFully } from '../../../src/agent/write-fully.ts';

/** A file in memory whose writev and write take at most `limit` bytes per call. */
function shortFile(limit: number, size: number) {
  const bytes = Buffer.alloc(size, '.');
  let calls = 0;
  const put = (b: Buffer, position: number) => {
    const n = Math.min(limit, b.length);
    b.copy(bytes, position, 0, n);
    calls++;
    return n;
  };
  const fh: PositionedWriter = {
    writev: (async (buffers: Buffer[], position: number) => {
      const n = put(Buffer.concat(buffers), position);
      return { bytesWritten: n, buffers };
    }) as PositionedWriter['writev'],
    write: (async (buffer: Buffer, offset: number, length: number, position: number) => {
      const n = put(buffer.subarray(offset, offset + length), position);
      return { bytesWritten: n, buffer };
    }) as PositionedWriter['write'],
  };
  return { fh, text: () => bytes.toString(), calls: () => calls };
}

describe('writevFully', () => {
  it('writes the rest of a short writev at its own offsets, not the start of the file', async () => {
    const file = shortFile(3, 16);
    await writevFully(file.fh, [Buffer.from('abcd'), Buffer.from('efgh')], 8, 6);
    expect(file.text()).toBe('......abcdefgh..');
    expect(file.calls()).toBeGreaterThan(1);
  });

  it('is one writev when the file takes everything', async () => {
    const file = shortFile(1 << 20, 8);
    await writevFully(file.fh, [Buffer.from('ab'), Buffer.from('cd')], 4, 2);
    expect(file.text()).toBe('..abcd..');
    expect(file.calls()).toBe(1);
  });

  it('fails a write that makes no progress instead of spinning', async () => {
    const file = shortFile(0, 8);
    await expect(writevFully(file.fh, [Buffer.from('ab')], 2, 0)).rejects.toThrow(
      'write at offset 0 made no progress',
    );
  });
});
