import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBuildInfo } from '../../../src/csi/build-info.ts';
import type { ProbeResponse } from '../../../src/csi/messages.ts';
import { world } from './fakes.ts';

describe('Identity', () => {
  it('reports the driver name, the package version and the build commit', async () => {
    const w = world({ driverName: 'my.etcd.driver' });
    expect(await w.call('Identity', 'GetPluginInfo')).toEqual({
      name: 'my.etcd.driver',
      vendor_version: '9.9.9',
      manifest: { commit: 'abc123' },
    });
  });

  it('offers the Controller and GroupController services', async () => {
    expect(await world().call('Identity', 'GetPluginCapabilities')).toEqual({
      capabilities: [
        { service: { type: 'CONTROLLER_SERVICE' } },
        { service: { type: 'GROUP_CONTROLLER_SERVICE' } },
      ],
    });
  });

  it('is ready only when the caches are synced and the API server is reachable', async () => {
    const w = world();
    const probe = async () => (await w.call<ProbeResponse>('Identity', 'Probe')).ready.value;
    expect(await probe()).toBe(true);
    w.synced.value = false;
    expect(await probe()).toBe(false);
    w.synced.value = true;
    w.reachable.value = false;
    expect(await probe()).toBe(false);
  });
});

describe('build info', () => {
  it('reads the version from package.json and the commit from BUILD_COMMIT or .git', () => {
    const dir = mkdtempSync(join(tmpdir(), 'build-info-'));
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '1.2.3' }));
      expect(readBuildInfo({ BUILD_COMMIT: 'feed' }, dir)).toEqual({ version: '1.2.3', commit: 'feed' });
      expect(readBuildInfo({}, dir)).toEqual({ version: '1.2.3', commit: 'unknown' });
      mkdirSync(join(dir, '.git/refs/heads'), { recursive: true });
      writeFileSync(join(dir, '.git/HEAD'), 'ref: refs/heads/main\n');
      writeFileSync(join(dir, '.git/refs/heads/main'), 'c0ffee\n');
      expect(readBuildInfo({}, dir).commit).toBe('c0ffee');
      rmSync(join(dir, '.git/refs/heads/main'));
      writeFileSync(join(dir, '.git/packed-refs'), '# pack-refs\nbeef refs/heads/main\n');
      expect(readBuildInfo({}, dir).commit).toBe('beef');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads this checkout', () => {
    const info = readBuildInfo({});
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.commit).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('Node', () => {
  it('reports no capabilities and the node ID', async () => {
    const w = world();
    expect(await w.call('Node', 'NodeGetCapabilities')).toEqual({ capabilities: [] });
    expect(await w.call('Node', 'NodeGetInfo')).toEqual({ node_id: 'node-1', max_volumes_per_node: 0 });
  });

  it('unpublishes what was never published: OK, after checking the request', async () => {
    const w = world();
    expect(
      await w.call('Node', 'NodeUnpublishVolume', { volume_id: 'default/a', target_path: '/x' }),
    ).toEqual({});
    await expect(w.call('Node', 'NodeUnpublishVolume', { target_path: '/x' })).rejects.toMatchObject({
      reason: 'MISSING_VOLUME_ID',
    });
    await expect(w.call('Node', 'NodeUnpublishVolume', { volume_id: 'default/a' })).rejects.toMatchObject({
      reason: 'MISSING_TARGET_PATH',
    });
  });
});
