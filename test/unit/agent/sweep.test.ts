import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../../src/agent/args.ts';
import { sweepCommand } from '../../../src/agent/contract.ts';
import { terminationMessage } from '../../../src/agent/result-output.ts';
import { fitting, runSweep } from '../../../src/agent/sweep.ts';
import type { AgentTracing } from '../../../src/agent/tracing.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const tracing: AgentTracing = {
  span: (_n, _a, fn) => fn({} as never),
  shutdown: async () => {},
} as AgentTracing;
const log = createLogger({ level: 'error', format: 'json' });

function claimDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'sweep-'));
  const old = (Date.now() - 3_600_000) / 1000;
  for (const d of ['owned', 'orphan-1', 'orphan-2']) {
    mkdirSync(join(root, d));
    writeFileSync(join(root, d, 'snapshot.db'), 'x');
    utimesSync(join(root, d, 'snapshot.db'), old, old);
    utimesSync(join(root, d), old, old);
  }
  mkdirSync(join(root, 'fresh'));
  writeFileSync(join(root, 'fresh', 'snapshot.db.part'), 'x');
  mkdirSync(join(root, 'lost+found'));
  mkdirSync(join(root, 'operator-notes'));
  writeFileSync(join(root, 'operator-notes', 'readme.txt'), 'x');
  return root;
}

describe('agent sweep', () => {
  it('reports old unowned snapshot directories only, and deletes only those asked for', async () => {
    const root = claimDir();
    const report = await runSweep({ root, keep: ['owned'], delete: [], minAgeSeconds: 60 }, { log, tracing });
    expect(report.sweep).toEqual({
      scanned: 4,
      unownedCount: 2,
      unowned: ['orphan-1', 'orphan-2'],
      deleted: [],
    });

    // Asked to delete an owned, a fresh and an unknown directory too: only the orphan goes.
    const run = await runSweep(
      { root, keep: ['owned'], delete: ['orphan-1', 'owned', 'fresh', 'operator-notes'], minAgeSeconds: 60 },
      { log, tracing },
    );
    expect(run.sweep).toEqual({ scanned: 4, unownedCount: 1, unowned: ['orphan-2'], deleted: ['orphan-1'] });
    expect(existsSync(join(root, 'orphan-1'))).toBe(false);
    for (const d of ['owned', 'fresh', 'operator-notes', 'orphan-2', 'lost+found'])
      expect(existsSync(join(root, d))).toBe(true);
  });

  it('many long names stay within the termination message', () => {
    const names = Array.from({ length: 500 }, (_, i) => `${'n'.repeat(200)}-${i}`);
    const text = terminationMessage({
      operation: 'sweep',
      ok: true,
      sweep: {
        scanned: 500,
        unownedCount: 500,
        unowned: fitting(names, 1800),
        deleted: fitting(names, 1500),
      },
    });
    expect(JSON.parse(text).sweep.unownedCount).toBe(500);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
  });

  it('parses its command line and refuses paths as names', () => {
    expect(
      parseAgentArgs(['sweep', '--root=/snapshots', '--keep=a,b', '--delete=', '--min-age-seconds=5']),
    ).toMatchObject({
      operation: 'sweep',
      args: { root: '/snapshots', keep: ['a', 'b'], delete: [], minAgeSeconds: 5 },
    });
    expect(() => parseAgentArgs(['sweep', '--root=/snapshots', '--delete=../etc'])).toThrow(
      '--delete: "../etc"',
    );
    expect(() => parseAgentArgs(['sweep', '--root=/snapshots', '--delete=..'])).toThrow('--delete: ".."');
    expect(() => parseAgentArgs(['sweep', '--root=rel'])).toThrow('--root="rel" must be an absolute path');
  });

  it('with a store: its command line round-trips, and the remote part needs --store-config-dir', () => {
    const args = {
      root: '/snapshots',
      keep: ['d-a'],
      delete: [],
      minAgeSeconds: 5,
      remote: {
        storeConfigDir: '/etc/etcd-snapshot-driver/object-store',
        namespace: 'etcd',
        cluster: 'main',
        keep: ['a', 'b'],
        delete: ['gone'],
      },
    };
    expect(parseAgentArgs(sweepCommand(args).slice(1))).toMatchObject({ operation: 'sweep', args });
    expect(() => parseAgentArgs(['sweep', '--root=/snapshots', '--remote-keep=a'])).toThrow(
      '--remote-keep needs --store-config-dir',
    );
    expect(() =>
      parseAgentArgs(['sweep', '--root=/snapshots', '--store-config-dir=/s', '--cluster=main']),
    ).toThrow('flag --namespace is required');
    expect(() =>
      parseAgentArgs([
        'sweep',
        '--root=/snapshots',
        '--store-config-dir=/s',
        '--namespace=etcd',
        '--cluster=main',
        '--remote-delete=../x',
      ]),
    ).toThrow('--remote-delete: "../x"');
  });

  it('a store that cannot be read is reported in the result; the local sweep still counts', async () => {
    const root = claimDir();
    const report = await runSweep(
      {
        root,
        keep: ['owned'],
        delete: [],
        minAgeSeconds: 60,
        remote: {
          storeConfigDir: join(root, 'no-such-dir'),
          namespace: 'etcd',
          cluster: 'main',
          keep: [],
          delete: [],
        },
      },
      { log, tracing },
    );
    expect(report.ok).toBe(true);
    expect(report.sweep).toMatchObject({ unownedCount: 2, unowned: ['orphan-1', 'orphan-2'] });
    expect(report.sweep?.remote).toMatchObject({
      unownedCount: 0,
      error: { reason: 'OBJECT_STORE_CONFIG_INVALID' },
    });
  });

  it('local and remote lists together stay within the termination message', () => {
    const names = Array.from({ length: 500 }, (_, i) => `${'n'.repeat(60)}-${i}`);
    const text = terminationMessage({
      operation: 'sweep',
      ok: true,
      sweep: {
        scanned: 500,
        unownedCount: 500,
        unowned: fitting(names, 1000),
        deleted: fitting(names, 700),
        remote: {
          location: `s3://${'b'.repeat(63)}/${'p/'.repeat(100)}etcd/main/`,
          scanned: 500,
          unownedCount: 500,
          unowned: fitting(names, 1000),
          deleted: fitting(names, 700),
        },
      },
    });
    expect(JSON.parse(text).sweep.remote.unownedCount).toBe(500);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
  });
});
