// The .part file against this machine's filesystem: direct writes where it takes O_DIRECT, the
// buffered handle where a write cannot go direct, and the two fallbacks when a filesystem refuses.
import { constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alignedRing, openPartFile } from '../../../src/agent/part-file.ts';

const SLOT = 8192;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'part-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Three slots of a ring, filled with a pattern; the last one partial (5 000 bytes). */
function slots(ring: SharedArrayBuffer): Buffer[] {
  const lengths = [SLOT, SLOT, 5000];
  return lengths.map((n, i) => {
    const slot = Buffer.from(ring, i * SLOT, SLOT);
    for (let b = 0; b < SLOT; b++) slot[b] = (i * 31 + b) % 251;
    return slot.subarray(0, n);
  });
}

async function writeAll(path: string, chunks: Buffer[], options = {}) {
  const file = await openPartFile(path, options);
  // Out of order and at once, as the stream's ring writes them.
  await Promise.all(
    [2, 0, 1].map((i) => file.write([chunks[i] as Buffer], (chunks[i] as Buffer).length, i * SLOT)),
  );
  const size = chunks.reduce((n, c) => n + c.length, 0);
  await file.finish(size);
  const direct = file.direct;
  await file.fh.close();
  return { direct, written: readFileSync(path), expected: Buffer.concat(chunks) };
}

/** Whether this filesystem takes O_DIRECT at all (ext4 and tmpfs here do). */
async function takesDirect(path: string): Promise<boolean> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT).catch(
    () => undefined,
  );
  await fh?.close();
  return fh !== undefined;
}

describe('openPartFile', () => {
  it('writes aligned slots past the page cache, pads the last and cuts the file to its size', async () => {
    const path = join(dir, 'a.part');
    const { direct, written, expected } = await writeAll(path, slots(alignedRing(3 * SLOT)));
    expect(direct).toBe(await takesDirect(join(dir, 'probe')));
    expect(written.length).toBe(2 * SLOT + 5000);
    expect(written.equals(expected)).toBe(true);
  });

  it('writes memory that is not an aligned ring through the page cache', async () => {
    const { direct, written, expected } = await writeAll(
      join(dir, 'b.part'),
      slots(new SharedArrayBuffer(3 * SLOT)),
    );
    expect(direct).toBe(false);
    expect(written.equals(expected)).toBe(true);
  });

  it('falls back to ordinary memory, written through the page cache, when aligned memory is refused', async () => {
    const ring = alignedRing(3 * SLOT, () => {
      throw new RangeError('WebAssembly.Memory(): could not allocate memory');
    });
    expect(ring.byteLength).toBe(3 * SLOT);
    const { direct, written, expected } = await writeAll(join(dir, 'f.part'), slots(ring));
    expect(direct).toBe(false);
    expect(written.equals(expected)).toBe(true);
  });

  it('writes everything through the page cache when the filesystem refuses O_DIRECT', async () => {
    const refused = Object.assign(new Error('EINVAL: invalid argument, open'), { code: 'EINVAL' });
    const { direct, written, expected } = await writeAll(join(dir, 'c.part'), slots(alignedRing(3 * SLOT)), {
      openDirect: () => Promise.reject(refused),
    });
    expect(direct).toBe(false);
    expect(written.equals(expected)).toBe(true);
  });

  it('goes buffered from the first direct write refused with EINVAL, and closes the refused handle', async () => {
    let closed = 0;
    const refusing = {
      writev: () =>
        Promise.reject(Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' })),
      write: () => Promise.reject(new Error('not used')),
      close: async () => {
        closed++;
      },
    };
    const { direct, written, expected } = await writeAll(join(dir, 'd.part'), slots(alignedRing(3 * SLOT)), {
      openDirect: async () => refusing as never,
    });
    expect(direct).toBe(false);
    expect(written.equals(expected)).toBe(true);
    expect(closed).toBe(1);
  });

  it('fails a direct write that fails for another reason (a full disk is not retried buffered)', async () => {
    const full = {
      writev: () =>
        Promise.reject(
          Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
        ),
      write: () => Promise.reject(new Error('not used')),
      close: async () => undefined,
    };
    const file = await openPartFile(join(dir, 'e.part'), { openDirect: async () => full as never });
    const [first] = slots(alignedRing(3 * SLOT));
    await expect(file.write([first as Buffer], SLOT, 0)).rejects.toThrow('ENOSPC');
    await file.close();
  });
});
