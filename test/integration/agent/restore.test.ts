// `agent restore` against a real 3-member etcd of local processes and the real etcdutl: a snapshot
// saved by the agent restored into every member's data dir brings back exactly the keys of the
// snapshot, with the revision bumped and the intended membership; a bad file is refused before the
// data dir is touched; a run stopped between the two renames converges when run again; a rollback
// puts the old data back byte for byte; --drop-previous removes it and then forbids a rollback.
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_EXIT_CODES,
  defaultClusterToken,
  initialCluster,
  type RestoreArguments,
  restoreCommand,
  restorePaths,
  revisionBump,
  saveCommand,
} from '../../../src/agent/contract.ts';
import { type EtcdProcessCluster, startEtcdProcessCluster } from '../../harness/etcd-processes.ts';
import { runAgentProcess } from './agent-env.ts';

const UID = 'a1b2c3d4-0000-4000-8000-000000000001';

/** Every file's path and bytes under a directory: equal digests mean the same data dir. */
function treeDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else hash.update(`${relative(dir, p)}\0`).update(readFileSync(p));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

interface Status {
  header: { revision: number; cluster_id: number | string };
}

describe('agent restore on a 3-member cluster', () => {
  let cluster: EtcdProcessCluster;
  let snapshot: { file: string; sha256: string; revision: number };
  let bump: number;
  let originalClusterId: string;
  const oldDigests: string[] = [];
  const term = () => join(cluster.dir, 'termination-log');
  const members = () =>
    cluster.members.map((m) => ({ name: m.name, peerUrl: `http://${new URL(m.endpoint).hostname}:2380` }));
  const restoreArgs = (i: number, overrides: Partial<RestoreArguments> = {}): RestoreArguments => {
    const self = members()[i] as { name: string; peerUrl: string };
    return {
      mode: 'restore',
      file: snapshot.file,
      sha256: snapshot.sha256,
      dataDir: (cluster.members[i] as { dataDir: string }).dataDir,
      uid: UID,
      name: self.name,
      initialCluster: initialCluster(members()),
      initialClusterToken: defaultClusterToken(UID),
      initialAdvertisePeerUrls: self.peerUrl,
      bumpRevision: bump,
      ...overrides,
    } as RestoreArguments;
  };
  const restore = (args: RestoreArguments) =>
    runAgentProcess(restoreCommand(args), { terminationLog: term() });
  const status = async (): Promise<Status> =>
    (JSON.parse(await cluster.etcdctl(['endpoint', 'status', '-w', 'json'])) as { Status: Status }[])[0]
      ?.Status as Status;
  const keys = async (prefix: string): Promise<Record<string, string>> => {
    const out = JSON.parse(await cluster.etcdctl(['get', prefix, '--prefix', '-w', 'json'])) as {
      kvs?: { key: string; value: string }[];
    };
    const b64 = (s: string) => Buffer.from(s, 'base64').toString();
    return Object.fromEntries((out.kvs ?? []).map((kv) => [b64(kv.key), b64(kv.value)]));
  };
  const stopAll = async () => {
    for (let i = 0; i < cluster.members.length; i++) await cluster.stopMember(i);
  };
  const startAll = async () => {
    for (let i = 0; i < cluster.members.length; i++) await cluster.startMember(i);
    await cluster.waitHealthy(60_000);
  };

  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 3 });
    for (let i = 0; i < 50; i++) await cluster.etcdctl(['put', `/before/${i}`, `value-${i}`]);
    const save = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 'snapshots', 'rec', 'snapshot.db'),
        snapshotId: 'snap',
        dialTimeoutSeconds: 5,
      }),
      { terminationLog: join(cluster.dir, 'save-term') },
    );
    expect(save.code, save.stderr).toBe(AGENT_EXIT_CODES.OK);
    snapshot = {
      file: save.result?.file as string,
      sha256: save.result?.sha256 as string,
      revision: save.result?.revision as number,
    };
    for (let i = 0; i < 20; i++) await cluster.etcdctl(['put', `/after/${i}`, 'later']);
    await cluster.etcdctl(['put', '/before/0', 'changed']);
    const live = await status();
    originalClusterId = String(live.header.cluster_id);
    bump = revisionBump(live.header.revision, snapshot.revision);
    await stopAll();
    for (const m of cluster.members) oldDigests.push(treeDigest(m.dataDir));
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('refuses a corrupted file and a wrong SHA-256 before touching the data dir', async () => {
    const badDir = join(cluster.dir, 'snapshots', 'bad');
    cpSync(join(cluster.dir, 'snapshots', 'rec'), badDir, { recursive: true });
    const bytes = readFileSync(join(badDir, 'snapshot.db'));
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0x10;
    writeFileSync(join(badDir, 'snapshot.db'), bytes);

    const corrupt = await restore(restoreArgs(0, { file: join(badDir, 'snapshot.db') }));
    expect(corrupt.code, corrupt.stderr).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
    expect(corrupt.terminationMessage?.error?.reason).toBe('CHECKSUM_MISMATCH');
    expect(corrupt.terminationMessage?.restore?.state).toBe('failed');

    const wrongSum = await restore(restoreArgs(0, { sha256: 'f'.repeat(64) }));
    expect(wrongSum.code, wrongSum.stderr).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
    expect(wrongSum.result?.error?.message).toContain(`the restore expects ${'f'.repeat(64)}`);

    const dataDir = (cluster.members[0] as { dataDir: string }).dataDir;
    expect(treeDigest(dataDir)).toBe(oldDigests[0]);
    const p = restorePaths(dataDir, UID);
    for (const path of [p.stagingPart, p.staging, p.previous, p.journal])
      expect(existsSync(path)).toBe(false);

    const noParent = await restore(restoreArgs(0, { dataDir: join(cluster.dir, 'no-claim', 'data') }));
    expect(noParent.code).toBe(AGENT_EXIT_CODES.NOT_FOUND);
    expect(noParent.result?.error?.reason).toBe('RESTORE_DATA_DIR_MISSING');
  });

  it('restores every member: keys of the snapshot back, later ones gone, revision bumped, 3 healthy members', async () => {
    for (let i = 0; i < 3; i++) {
      const run = await restore(restoreArgs(i));
      expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
      expect(run.terminationMessage?.restore).toMatchObject({ state: 'restored', member: `m${i}` });
      expect(run.result?.revision).toBe(snapshot.revision);
    }
    // A crash between the two renames: the old data aside, the restored data still staged.
    const p0 = restorePaths((cluster.members[0] as { dataDir: string }).dataDir, UID);
    renameSync(p0.dataDir, p0.staging);
    const resumed = await restore(restoreArgs(0));
    expect(resumed.code, resumed.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(resumed.result?.restore?.state).toBe('restored');
    expect(existsSync(p0.staging)).toBe(false);
    expect(treeDigest(p0.previous)).toBe(oldDigests[0]);
    // A finished swap run again is a no-op.
    const p1 = restorePaths((cluster.members[1] as { dataDir: string }).dataDir, UID);
    const before = treeDigest(p1.dataDir);
    const again = await restore(restoreArgs(1));
    expect(again.code, again.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(again.result?.restore).toMatchObject({ state: 'already-restored', previousDir: p1.previous });
    expect(treeDigest(p1.dataDir)).toBe(before);

    await startAll();
    const before50 = await keys('/before/');
    expect(Object.keys(before50)).toHaveLength(50);
    for (let i = 0; i < 50; i++) expect(before50[`/before/${i}`]).toBe(`value-${i}`);
    expect(await keys('/after/')).toEqual({});
    const after = await status();
    expect(after.header.revision).toBeGreaterThanOrEqual(snapshot.revision + bump);
    // --mark-compacted: a client cannot read (or watch from) a revision of before the restore.
    await expect(cluster.etcdctl(['get', '/before/1', `--rev=${snapshot.revision}`])).rejects.toThrow(
      /required revision has been compacted/,
    );
    // A new token makes a new cluster: no member of the old one could join it.
    expect(String(after.header.cluster_id)).not.toBe(originalClusterId);
    const list = JSON.parse(await cluster.etcdctl(['member', 'list', '-w', 'json'])) as {
      members: { name: string; peerURLs: string[] }[];
    };
    expect(list.members.map((m) => [m.name, m.peerURLs]).sort()).toEqual(
      members().map((m) => [m.name, [m.peerUrl]]),
    );
  }, 180_000);

  it('rolls back to the old data exactly, idempotently', async () => {
    await stopAll();
    for (let i = 0; i < 3; i++) {
      const args = {
        mode: 'rollback',
        dataDir: (cluster.members[i] as { dataDir: string }).dataDir,
        uid: UID,
      } as const;
      const first = await restore(args);
      expect(first.code, first.stderr).toBe(AGENT_EXIT_CODES.OK);
      expect(first.result?.restore?.state).toBe('rolled-back');
      expect(treeDigest(args.dataDir)).toBe(oldDigests[i]);
      const second = await restore(args);
      expect(second.code, second.stderr).toBe(AGENT_EXIT_CODES.OK);
      expect(second.result?.restore?.state).toBe('nothing-to-roll-back');
      expect(treeDigest(args.dataDir)).toBe(oldDigests[i]);
      const p = restorePaths(args.dataDir, UID);
      for (const path of [p.staging, p.previous, p.journal, p.discarded])
        expect(existsSync(path)).toBe(false);
    }
    await startAll();
    expect(Object.keys(await keys('/after/'))).toHaveLength(20);
    expect((await keys('/before/0'))['/before/0']).toBe('changed');
    await stopAll();
  }, 180_000);

  it('--drop-previous removes the kept data; a rollback is then refused, a re-run stays a no-op', async () => {
    const dataDir = join(cluster.dir, 'copy', 'm0');
    mkdirSync(join(cluster.dir, 'copy'));
    cpSync((cluster.members[0] as { dataDir: string }).dataDir, dataDir, { recursive: true });
    const uid = 'b2c3d4e5-0000-4000-8000-000000000002';
    const p = restorePaths(dataDir, uid);
    const restored = await restore(restoreArgs(0, { dataDir, uid }));
    expect(restored.code, restored.stderr).toBe(AGENT_EXIT_CODES.OK);
    for (let i = 0; i < 2; i++) {
      const drop = await restore({ mode: 'drop-previous', dataDir, uid });
      expect(drop.code, drop.stderr).toBe(AGENT_EXIT_CODES.OK);
      expect(drop.result?.restore?.state).toBe('previous-dropped');
      expect(existsSync(p.previous)).toBe(false);
    }
    const rollback = await restore({ mode: 'rollback', dataDir, uid });
    expect(rollback.code).toBe(AGENT_EXIT_CODES.NOT_FOUND);
    expect(rollback.result?.error?.reason).toBe('RESTORE_PREVIOUS_DATA_DROPPED');
    const digest = treeDigest(dataDir);
    const again = await restore(restoreArgs(0, { dataDir, uid }));
    expect(again.code, again.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(again.result?.restore?.state).toBe('already-restored');
    expect(treeDigest(dataDir)).toBe(digest);
  });
});
