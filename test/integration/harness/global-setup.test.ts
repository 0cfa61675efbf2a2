// The background tools build of the cluster tiers' globalSetup: it reports a failure at the end of
// the run, stops what the run did not wait for, and starts once although two projects name it.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import setup, { startBackgroundBuild } from '../../harness/global-setup.ts';
import { waitFor } from '../../harness/process.ts';

const scratch = mkdtempSync(join(tmpdir(), 'esd-background-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the background tools build', () => {
  it('a build that fails (no Go on PATH) fails the run at teardown, naming the command', async () => {
    const build = startBackgroundBuild(['etcd'], {
      ...process.env,
      PATH: '/usr/bin:/bin',
      ETCD_SNAPSHOT_DRIVER_TOOLS: join(scratch, 'no-go'),
    });
    expect(await build.exited).toBe(1);
    expect(() => build.teardown()).toThrow(/hack\/tools\/build\.sh etcd\) exited 1/);
  });

  it('a cached component ends at once and the teardown is quiet', async () => {
    const build = startBackgroundBuild(['etcd']);
    expect(await build.exited).toBe(0);
    expect(() => build.teardown()).not.toThrow();
  });

  it('a build still going when the run ends is stopped, and publishes nothing', async () => {
    const tools = join(scratch, 'stopped');
    const build = startBackgroundBuild(['etcd'], { ...process.env, ETCD_SNAPSHOT_DRIVER_TOOLS: tools });
    await waitFor('build.sh to start building etcd', () =>
      existsSync(tools) && readdirSync(tools).some((f) => f.endsWith('.partial')) ? true : undefined,
    );
    build.teardown();
    expect(await build.exited).toBeNull();
    expect(readdirSync(tools).filter((f) => f.startsWith('etcd-') && !f.endsWith('.partial'))).toEqual([]);
  });

  it('starts once although both cluster projects name it', async () => {
    const key = 'ETCD_SNAPSHOT_DRIVER_TOOLS_BACKGROUND_BUILD';
    // This worker inherited the variable from the run's own globalSetup.
    expect(process.env[key]).toBe('1');
    // With no bash on PATH a build could not start and setup would throw: it starts none.
    const path = process.env.PATH;
    process.env.PATH = join(scratch, 'no-bin');
    try {
      await expect(setup()).resolves.toBeUndefined();
    } finally {
      process.env.PATH = path;
    }
  });
});
