// The mounted store Secret and key file: the kubelet's `..data` entries skipped, refusals as
// catalog reasons naming the key, and the secret values unloggable once read.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEncryptionKey, readStoreConfig } from '../../../src/agent/store-files.ts';
import { scrubSecrets } from '../../../src/telemetry/logger.ts';

const root = mkdtempSync(join(tmpdir(), 'store-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A Secret volume as the kubelet lays it out: files in a timestamped dir, `..data` and links to it. */
function secretVolume(data: Record<string, string>): string {
  const dir = join(root, `vol-${n++}`);
  const ts = join(dir, '..2026_01_01_00_00_00.1');
  mkdirSync(ts, { recursive: true });
  for (const [k, v] of Object.entries(data)) writeFileSync(join(ts, k), v);
  symlinkSync('..2026_01_01_00_00_00.1', join(dir, '..data'));
  for (const k of Object.keys(data)) symlinkSync(join('..data', k), join(dir, k));
  return dir;
}

describe('readStoreConfig', () => {
  it('reads the keys of a Secret volume and makes its secrets unloggable', async () => {
    const secret = 'store-secret-value-1234';
    const config = await readStoreConfig(
      secretVolume({ bucket: 'b-1\n', accessKeyId: 'AKID', secretAccessKey: `${secret}\n` }),
    );
    expect(config).toMatchObject({ bucket: 'b-1', credentials: { kind: 'static', secretAccessKey: secret } });
    expect(scrubSecrets(`{"message":"signed with ${secret}"}`)).not.toContain(secret);
  });

  it('refuses a missing volume and an invalid key with OBJECT_STORE_CONFIG_INVALID', async () => {
    await expect(readStoreConfig(join(root, 'absent'))).rejects.toMatchObject({
      reason: 'OBJECT_STORE_CONFIG_INVALID',
      message: expect.stringContaining('is not mounted'),
    });
    await expect(readStoreConfig(secretVolume({ bucket: 'B' }))).rejects.toMatchObject({
      reason: 'OBJECT_STORE_CONFIG_INVALID',
      message: expect.stringContaining('"bucket" = "B"'),
    });
  });
});

describe('readEncryptionKey', () => {
  it('reads a base64 key, unloggable after', async () => {
    const text = Buffer.alloc(32, 9).toString('base64');
    const file = join(root, 'key');
    writeFileSync(file, `${text}\n`);
    expect(await readEncryptionKey(file)).toEqual(Buffer.alloc(32, 9));
    expect(scrubSecrets(`"${text}"`)).not.toContain(text);
  });

  it('refuses a missing or malformed key file without quoting it', async () => {
    await expect(readEncryptionKey(join(root, 'nokey'))).rejects.toMatchObject({
      reason: 'OBJECT_STORE_KEY_INVALID',
    });
    const file = join(root, 'badkey');
    writeFileSync(file, 'not-a-key-at-all');
    const err = await readEncryptionKey(file).catch((e: Error) => e);
    expect(err).toMatchObject({ reason: 'OBJECT_STORE_KEY_INVALID' });
    expect((err as Error).message).not.toContain('not-a-key-at-all');
  });
});
