// The agent against a real 3-member etcd of local processes, run as a process with the argv the
// pipeline builds: a save restores with etcdutl into an etcd that serves exactly the keys of the
// snapshot; verify, delete, full disk, lost quorum and unreachable clusters end with the
// contract's exit codes and reasons.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_EXIT_CODES,
  deleteCommand,
  META_FILE_NAME,
  saveCommand,
  verifyCommand,
} from '../../../src/agent/contract.ts';
import { EtcdClient } from '../../../src/etcd/client/etcd-client.ts';
import { NO_CREDENTIALS } from '../../../src/etcd/credentials.ts';
import {
  type EtcdProcessCluster,
  startEtcdOnDataDir,
  startEtcdProcessCluster,
} from '../../harness/etcd-processes.ts';
import { waitFor } from '../../harness/process.ts';
import { tool } from '../../harness/tools.ts';
import { runAgentProcess } from './agent-env.ts';

const execFileAsync = promisify(execFile);

describe('agent on a 3-member cluster', () => {
  let cluster: EtcdProcessCluster;
  let client: EtcdClient;
  const file = () => join(cluster.dir, 'snapshots', 'rec-1', 'snapshot.db');
  const termination = () => join(cluster.dir, 'termination-log');

  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 3 });
    client = new EtcdClient(cluster.endpoints[0] as string, { credentials: NO_CREDENTIALS });
    for (let i = 0; i < 300; i++)
      await client.put(`/data/${String(i).padStart(4, '0')}`, `value-${i}-${'x'.repeat(i)}`);
  });
  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  it('saves a snapshot that etcdutl restores into an etcd serving exactly its keys', async () => {
    const run = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: file(),
        snapshotId: 'snap-1',
        dialTimeoutSeconds: 5,
      }),
      { terminationLog: termination() },
    );
    expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
    // Written after the snapshot: must not be in the restored data.
    await client.put('/after/snapshot', 'no');

    const result = run.result;
    expect(result).toMatchObject({
      operation: 'save',
      ok: true,
      snapshotId: 'snap-1',
      file: file(),
      etcdVersion: '3.6.16',
    });
    expect(run.terminationMessage).toEqual(result);
    expect(JSON.parse(readFileSync(join(cluster.dir, 'snapshots', 'rec-1', META_FILE_NAME), 'utf8'))).toEqual(
      result,
    );
    expect(result?.sizeBytes).toBe(readFileSync(file()).length);
    expect(result?.totalKeys).toBe(300);
    // The keys at the snapshot's revision, counted on the source: what a restore must hold.
    expect(result?.keyCount).toBe(300);
    expect(result?.revision).toBeGreaterThanOrEqual(301);
    expect(typeof result?.etcdHash).toBe('number');
    expect(result?.member).toBe(cluster.endpoints[0]);
    // The claim's filesystem after the save, for the PVC usage gauges.
    expect(result?.storage?.usedBytes).toBeGreaterThan(0);
    expect(result?.storage?.availableBytes).toBeGreaterThan(0);
    expect(existsSync(`${file()}.part`)).toBe(false);
    // The log is JSON lines on stderr.
    expect(
      run.stderr
        .split('\n')
        .filter(Boolean)
        .every((l) => JSON.parse(l).component === 'agent'),
    ).toBe(true);
    // Written past the page cache: this machine's filesystem takes O_DIRECT (part-file.test.ts
    // covers the filesystems that refuse it).
    const saved = run.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { message?: string; direct_writes?: boolean })
      .find((l) => l.message === 'snapshot saved');
    expect(saved?.direct_writes).toBe(true);

    // Restore as an operator would, and serve it.
    const dataDir = join(cluster.dir, 'restored');
    const ip = `${cluster.subnet}.2.10`;
    await execFileAsync(tool('etcdutl'), [
      'snapshot',
      'restore',
      file(),
      `--data-dir=${dataDir}`,
      '--name=restored',
      `--initial-cluster=restored=http://${ip}:2380`,
      `--initial-advertise-peer-urls=http://${ip}:2380`,
    ]);
    const restored = startEtcdOnDataDir({
      name: 'restored',
      dataDir,
      ip,
      logFile: join(cluster.dir, 'restored.log'),
    });
    const r = new EtcdClient(restored.endpoint, { credentials: NO_CREDENTIALS });
    try {
      const counted = await waitFor('restored etcd to answer', () => r.countKeys('').catch(() => undefined), {
        timeoutMs: 30_000,
      });
      expect(counted.count).toBe(300);
      expect((await r.countKeys('/data/')).count).toBe(300);
      expect((await r.countKeys('/after/')).count).toBe(0);
    } finally {
      r.close();
      await restored.process.stop();
    }
  });

  it('verify passes on the saved file and detects a flipped byte', async () => {
    const ok = await runAgentProcess(verifyCommand({ file: file() }), { terminationLog: termination() });
    expect(ok.code, ok.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(ok.result).toMatchObject({ operation: 'verify', ok: true, totalKeys: 300 });

    const bytes = readFileSync(file());
    const flipped = Buffer.from(bytes);
    const at = Math.floor(bytes.length / 2);
    flipped[at] = (flipped[at] as number) ^ 0x40;
    writeFileSync(file(), flipped);
    const bad = await runAgentProcess(verifyCommand({ file: file() }), { terminationLog: termination() });
    expect(bad.code).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
    expect(bad.terminationMessage?.error?.reason).toBe('CHECKSUM_MISMATCH');
    writeFileSync(file(), bytes);

    const missing = await runAgentProcess(
      verifyCommand({ file: join(cluster.dir, 'nowhere', 'snapshot.db') }),
      {
        terminationLog: termination(),
      },
    );
    expect(missing.code).toBe(AGENT_EXIT_CODES.NOT_FOUND);
  });

  it('verify without etcdutl still checks the SHA-256 and the trailer', async () => {
    const ok = await runAgentProcess(verifyCommand({ file: file() }), {
      terminationLog: termination(),
      withEtcdutl: false,
    });
    expect(ok.code, ok.stderr).toBe(AGENT_EXIT_CODES.OK);
    const truncated = join(cluster.dir, 'snapshots', 'rec-2', 'snapshot.db');
    await execFileAsync('mkdir', ['-p', join(cluster.dir, 'snapshots', 'rec-2')]);
    writeFileSync(truncated, readFileSync(file()).subarray(0, 20_000));
    const bad = await runAgentProcess(verifyCommand({ file: truncated }), {
      terminationLog: termination(),
      withEtcdutl: false,
    });
    expect(bad.code).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
    expect(bad.result?.error?.reason).toBe('CHECKSUM_MISMATCH');
  });

  it('DISK_FULL when less than --min-free-bytes is free, naming the bytes', async () => {
    const run = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 'snapshots', 'rec-full', 'snapshot.db'),
        snapshotId: 'snap-full',
        minFreeBytes: 2 ** 52,
      }),
      { terminationLog: termination() },
    );
    expect(run.code).toBe(AGENT_EXIT_CODES.DISK_FULL);
    expect(run.terminationMessage?.error?.reason).toBe('STORAGE_QUOTA_EXCEEDED');
    expect(run.terminationMessage?.error?.message).toMatch(
      /has \d+ bytes free; --min-free-bytes requires 4503599627370496/,
    );
    expect(existsSync(join(cluster.dir, 'snapshots', 'rec-full', 'snapshot.db'))).toBe(false);
  });

  it('delete removes the directory and is idempotent', async () => {
    const dir = join(cluster.dir, 'snapshots', 'rec-1');
    for (let i = 0; i < 2; i++) {
      const run = await runAgentProcess(deleteCommand({ dir }), { terminationLog: termination() });
      expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
      expect(run.result).toMatchObject({ operation: 'delete', ok: true });
      expect(existsSync(dir)).toBe(false);
    }
  });

  it('exits QUORUM_LOST quickly with 2 of 3 members down, UNREACHABLE with all down', async () => {
    await cluster.stopMember(1);
    await cluster.stopMember(2);
    const lost = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 'snapshots', 'rec-q', 'snapshot.db'),
        snapshotId: 'q',
      }),
      { terminationLog: termination() },
    );
    expect(lost.code).toBe(AGENT_EXIT_CODES.QUORUM_LOST);
    expect(lost.terminationMessage?.error?.reason).toBe('ETCD_QUORUM_LOST');
    expect(lost.ms).toBeLessThan(15_000);

    await cluster.stopMember(0);
    const down = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 'snapshots', 'rec-u', 'snapshot.db'),
        snapshotId: 'u',
      }),
      { terminationLog: termination() },
    );
    expect(down.code).toBe(AGENT_EXIT_CODES.UNREACHABLE);
    expect(down.terminationMessage?.error?.reason).toBe('ETCD_ENDPOINTS_UNREACHABLE');
  });

  it('exits USAGE with a message naming the flag', async () => {
    const run = await runAgentProcess(
      ['agent', 'save', '--endpoints=http://a:2379', '--file=relative', '--snapshot-id=x'],
      {
        terminationLog: termination(),
      },
    );
    expect(run.code).toBe(AGENT_EXIT_CODES.USAGE);
    expect(run.stderr).toContain('--file="relative" must be an absolute path');
  });
});

describe('agent on an empty single-member cluster', () => {
  let cluster: EtcdProcessCluster;
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 1 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('saves and verifies a snapshot of no keys', async () => {
    const file = join(cluster.dir, 'snapshots', 'empty', 'snapshot.db');
    const run = await runAgentProcess(
      saveCommand({ endpoints: cluster.endpoints, file, snapshotId: 'empty' }),
      {
        terminationLog: join(cluster.dir, 'term'),
      },
    );
    expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(run.result).toMatchObject({ ok: true, totalKeys: 0 });
    const v = await runAgentProcess(verifyCommand({ file }), { terminationLog: join(cluster.dir, 'term') });
    expect(v.code, v.stderr).toBe(AGENT_EXIT_CODES.OK);
  });

  it('SNAPSHOT_STATUS_FAILED when etcdutl cannot read the file, which is left synced under its own name', async () => {
    // etcdutl runs on <file>.part while the fsync is under way; its failure must still name the
    // file as the caller knows it, and the rename must still happen (as when the check came last).
    const bin = join(cluster.dir, 'failing-etcdutl');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'etcdutl'),
      '#!/bin/sh\necho "Error: failed to open $3: invalid database" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const file = join(cluster.dir, 'snapshots', 'unreadable', 'snapshot.db');
    const run = await runAgentProcess(
      saveCommand({ endpoints: cluster.endpoints, file, snapshotId: 'bad' }),
      {
        terminationLog: join(cluster.dir, 'term'),
        pathFirst: bin,
      },
    );
    expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
    expect(run.result?.error?.reason).toBe('SNAPSHOT_STATUS_FAILED');
    expect(run.result?.error?.message).toContain(`failed to open ${file}: invalid database`);
    expect(run.result?.error?.message).not.toContain('.part');
    expect(existsSync(file)).toBe(true);
    expect(existsSync(`${file}.part`)).toBe(false);
  });
});
