// runRestore on a temp dir with a stand-in etcdutl (a shell script that writes a data dir): a run
// stopped after every step that changes the disk, then run again, converges to the restored data
// with the old data kept; a rollback stopped at every step converges to the old data; nothing is
// touched when the checks fail. The real etcdutl and etcd are in test/integration/agent/restore.test.ts.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_EXIT_CODES, type RestoreArguments } from '../../../src/agent/contract.ts';
import { AgentFailure, classifyFailure } from '../../../src/agent/failure.ts';
import { runRestore } from '../../../src/agent/restore.ts';
import { restorePaths } from '../../../src/agent/restore-plan.ts';
import type { AgentTracing } from '../../../src/agent/tracing.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const tracing = { span: (_n, _a, fn) => fn({} as never), shutdown: async () => {} } as AgentTracing;
const log = createLogger({ level: 'error', format: 'json' });
const UID = 'u1';

const FAKE_ETCDUTL = `#!/bin/sh
if [ "$2" = status ]; then echo '{"hash":1,"revision":5,"totalKey":3,"totalSize":4096,"version":"3.6.16"}'; exit 0; fi
for a; do case "$a" in --data-dir=*) d="\${a#--data-dir=}";; esac; done
[ -e "$d" ] && { echo "data-dir $d exists" >&2; exit 1; }
mkdir -p "$d/member/snap" && echo restored > "$d/member/snap/db"
`;
const FAILING_ETCDUTL = `#!/bin/sh
if [ "$2" = status ]; then echo '{"hash":1,"revision":5,"totalKey":3,"totalSize":4096,"version":"3.6.16"}'; exit 0; fi
i=0; while [ $i -lt 200 ]; do echo "noise line $i ........................................" >&2; i=$((i+1)); done
echo "Error: THE-END" >&2; exit 1
`;

/** etcdutl killed midway: a half-written data dir is left behind. */
const KILLED_ETCDUTL = `#!/bin/sh
if [ "$2" = status ]; then echo '{"hash":1,"revision":5,"totalKey":3,"totalSize":4096,"version":"3.6.16"}'; exit 0; fi
for a; do case "$a" in --data-dir=*) d="\${a#--data-dir=}";; esac; done
mkdir -p "$d/member/snap" && echo partial > "$d/member/snap/db"
kill -9 $$
`;

function setup(options: { oldData?: boolean; etcdutl?: string } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'restore-'));
  const etcdutl = join(root, 'etcdutl');
  writeFileSync(etcdutl, options.etcdutl ?? FAKE_ETCDUTL, { mode: 0o755 });
  const body = randomBytes(4096);
  const file = join(root, 'snapshot.db');
  const trailer = createHash('sha256').update(body).digest();
  writeFileSync(file, Buffer.concat([body, trailer]));
  const sha256 = createHash('sha256').update(body).update(trailer).digest('hex');
  mkdirSync(join(root, 'claim'));
  const dataDir = join(root, 'claim', 'data');
  if (options.oldData !== false) {
    mkdirSync(join(dataDir, 'member', 'snap'), { recursive: true });
    writeFileSync(join(dataDir, 'member', 'snap', 'db'), 'old\n');
  }
  const args: RestoreArguments = {
    mode: 'restore',
    file,
    sha256,
    dataDir,
    uid: UID,
    name: 'm0',
    initialCluster: 'm0=http://127.0.0.1:2380',
    initialClusterToken: 'restore-u1',
    initialAdvertisePeerUrls: 'http://127.0.0.1:2380',
    bumpRevision: 1_000_000_000,
  };
  const paths = restorePaths(dataDir, UID);
  const db = (dir: string) => readFileSync(join(dir, 'member', 'snap', 'db'), 'utf8').trim();
  const leftovers = () =>
    [paths.stagingPart, paths.staging, paths.discarded]
      .filter((p) => existsSync(p))
      .map((p) => p.slice(root.length));
  return { root, args, paths, etcdutl, db, leftovers };
}

const crashAt = (target: string) => (step: string) => {
  if (step === target) throw new Error(`crash after ${step}`);
};

/** The step names a run reports, in order (a restore, or a rollback of a finished restore). */
async function steps(mode: 'restore' | 'rollback'): Promise<string[]> {
  const s = setup();
  const seen: string[] = [];
  const record = (n: string) => void seen.push(n);
  if (mode === 'rollback') await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl });
  const args = mode === 'restore' ? s.args : ({ mode, dataDir: s.args.dataDir, uid: UID } as const);
  await runRestore(args, { log, tracing, etcdutl: s.etcdutl, onStep: record });
  return seen;
}

describe('agent restore, stopped at every step', async () => {
  const restoreSteps = await steps('restore');
  const rollbackSteps = await steps('rollback');

  it('takes the steps it documents', () => {
    expect(restoreSteps).toEqual(['staged-part', 'staged', 'journal', 'data-aside', 'staging-in']);
    expect(rollbackSteps).toEqual(['restored-aside', 'previous-back', 'journal-removed']);
  });

  it.each(['staged-part', 'staged', 'journal', 'data-aside', 'staging-in'])(
    'a restore stopped after %s converges when run again, and a rollback from there gives the old data',
    async (step) => {
      const s = setup();
      await expect(
        runRestore(s.args, { log, tracing, etcdutl: s.etcdutl, onStep: crashAt(step) }),
      ).rejects.toThrow(`crash after ${step}`);
      // Never half-swapped: the old data or the restored data is complete under a known name.
      const old = existsSync(s.args.dataDir) ? s.args.dataDir : s.paths.previous;
      expect(['old', 'restored']).toContain(s.db(old));

      const again = await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl });
      expect(again.restore?.state).toBe(step === 'staging-in' ? 'already-restored' : 'restored');
      expect(s.db(s.args.dataDir)).toBe('restored');
      expect(s.db(s.paths.previous)).toBe('old');
      expect(s.leftovers()).toEqual([]);
      const third = await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl });
      expect(third.restore).toMatchObject({ state: 'already-restored', previousDir: s.paths.previous });

      const other = setup();
      await expect(
        runRestore(other.args, { log, tracing, etcdutl: other.etcdutl, onStep: crashAt(step) }),
      ).rejects.toThrow();
      const back = await runRestore(
        { mode: 'rollback', dataDir: other.args.dataDir, uid: UID },
        { log, tracing },
      );
      expect(['rolled-back', 'nothing-to-roll-back']).toContain(back.restore?.state);
      expect(other.db(other.args.dataDir)).toBe('old');
      expect(other.leftovers()).toEqual([]);
      expect(existsSync(other.paths.journal)).toBe(false);
    },
  );

  it('an etcdutl killed midway leaves nothing that a re-run would swap in', async () => {
    const s = setup({ etcdutl: KILLED_ETCDUTL });
    const err = await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl }).catch((e: unknown) => e);
    expect(classifyFailure(err).reason).toBe('RESTORE_FAILED');
    expect(s.db(s.args.dataDir)).toBe('old');
    expect(s.leftovers()).toEqual([]);
    writeFileSync(s.etcdutl, FAKE_ETCDUTL);
    const again = await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl });
    expect(again.restore?.state).toBe('restored');
    expect(s.db(s.args.dataDir)).toBe('restored');
    expect(s.leftovers()).toEqual([]);
  });

  it.each(['restored-aside', 'previous-back', 'journal-removed'])(
    'a rollback stopped after %s converges when run again',
    async (step) => {
      const s = setup();
      await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl });
      const rollback = { mode: 'rollback', dataDir: s.args.dataDir, uid: UID } as const;
      await expect(runRestore(rollback, { log, tracing, onStep: crashAt(step) })).rejects.toThrow();
      const again = await runRestore(rollback, { log, tracing });
      expect(again.restore?.state).toBe('rolled-back');
      expect(s.db(s.args.dataDir)).toBe('old');
      expect(s.leftovers()).toEqual([]);
      expect(existsSync(s.paths.previous) || existsSync(s.paths.journal)).toBe(false);
      expect((await runRestore(rollback, { log, tracing })).restore?.state).toBe('nothing-to-roll-back');
    },
  );
});

describe('agent restore, refusals and other shapes', () => {
  it('refuses too little free space before writing anything', async () => {
    const s = setup();
    const err = await runRestore(s.args, {
      log,
      tracing,
      etcdutl: s.etcdutl,
      freeBytes: async () => 8000,
    }).catch((e: unknown) => e);
    expect(classifyFailure(err)).toMatchObject({
      exitCode: AGENT_EXIT_CODES.DISK_FULL,
      reason: 'STORAGE_QUOTA_EXCEEDED',
      message: expect.stringMatching(
        /has 8000 bytes free; restoring the 4128-byte database needs 8256 \(×2\)/,
      ),
    });
    expect(s.db(s.args.dataDir)).toBe('old');
    expect(s.leftovers()).toEqual([]);
    expect(existsSync(s.paths.journal)).toBe(false);
  });

  it('turns an etcdutl failure into RESTORE_FAILED with the end of its stderr, bounded', async () => {
    const s = setup({ etcdutl: FAILING_ETCDUTL });
    const err = await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentFailure);
    const failure = classifyFailure(err);
    expect(failure.exitCode).toBe(AGENT_EXIT_CODES.RESTORE_FAILED);
    expect(failure.reason).toBe('RESTORE_FAILED');
    expect(failure.message).toContain('Error: THE-END');
    expect(failure.message.length).toBeLessThan(1700);
    expect(s.db(s.args.dataDir)).toBe('old');
    expect(s.leftovers()).toEqual([]);
    expect(s.leftovers()).toEqual([]);
    expect(existsSync(s.paths.journal)).toBe(false);
  });

  it('restores a member that had no data dir; a rollback removes the restored one', async () => {
    const s = setup({ oldData: false });
    const done = await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl });
    expect(done.restore?.state).toBe('restored');
    expect(done.restore?.previousDir).toBeUndefined();
    expect(s.db(s.args.dataDir)).toBe('restored');
    const back = await runRestore({ mode: 'rollback', dataDir: s.args.dataDir, uid: UID }, { log, tracing });
    expect(back.restore?.state).toBe('rolled-back');
    expect(existsSync(s.args.dataDir)).toBe(false);
  });

  it('refuses a data dir that is a mount point, before reading the file', async () => {
    const s = setup();
    const deviceOf = async (p: string) => (p === s.args.dataDir ? 2 : 1);
    const err = await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl, deviceOf }).catch(
      (e: unknown) => e,
    );
    expect(classifyFailure(err)).toMatchObject({
      exitCode: AGENT_EXIT_CODES.RESTORE_FAILED,
      reason: 'RESTORE_DATA_DIR_IS_MOUNT',
      message: expect.stringContaining(`--data-dir=${s.args.dataDir} is a mount point`),
    });
    expect(s.db(s.args.dataDir)).toBe('old');
    expect(s.leftovers()).toEqual([]);
  });

  it('touches nothing when a kept data dir of the same uid is already there before any swap', async () => {
    const s = setup();
    mkdirSync(s.paths.previous);
    writeFileSync(join(s.paths.previous, 'operator-file'), 'x');
    const err = await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl }).catch((e: unknown) => e);
    expect(classifyFailure(err).reason).toBe('RESTORE_STATE_INCONSISTENT');
    expect(s.db(s.args.dataDir)).toBe('old');
    expect(readFileSync(join(s.paths.previous, 'operator-file'), 'utf8')).toBe('x');
    expect(existsSync(s.paths.journal)).toBe(false);
  });

  it('refuses --drop-previous without a finished restore', async () => {
    const s = setup();
    const err = await runRestore(
      { mode: 'drop-previous', dataDir: s.args.dataDir, uid: UID },
      { log, tracing },
    ).catch((e: unknown) => e);
    expect(classifyFailure(err)).toMatchObject({
      exitCode: AGENT_EXIT_CODES.NOT_FOUND,
      reason: 'RESTORE_NOT_FINISHED',
    });
    expect(s.db(s.args.dataDir)).toBe('old');
  });

  it('never rolls back onto the old data once --drop-previous began, even if it stopped midway', async () => {
    const s = setup();
    await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl });
    await expect(
      runRestore(
        { mode: 'drop-previous', dataDir: s.args.dataDir, uid: UID },
        { log, tracing, onStep: crashAt('journal-dropped') },
      ),
    ).rejects.toThrow('crash after journal-dropped');
    // The old data is still there (its removal never ran), yet the journal says it is going.
    expect(s.db(s.paths.previous)).toBe('old');
    const err = await runRestore(
      { mode: 'rollback', dataDir: s.args.dataDir, uid: UID },
      { log, tracing },
    ).catch((e: unknown) => e);
    expect(classifyFailure(err).reason).toBe('RESTORE_PREVIOUS_DATA_DROPPED');
    expect(s.db(s.args.dataDir)).toBe('restored');
  });

  it('refuses to call a restore done while a rollback of it is under way', async () => {
    const s = setup();
    await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl });
    await expect(
      runRestore(
        { mode: 'rollback', dataDir: s.args.dataDir, uid: UID },
        { log, tracing, onStep: crashAt('previous-back') },
      ),
    ).rejects.toThrow('crash after previous-back');
    // The data dir holds the old data again; a restore re-run must not report it restored.
    expect(s.db(s.args.dataDir)).toBe('old');
    const err = await runRestore(s.args, { log, tracing, etcdutl: s.etcdutl }).catch((e: unknown) => e);
    expect(classifyFailure(err).reason).toBe('RESTORE_STATE_INCONSISTENT');
    const back = await runRestore({ mode: 'rollback', dataDir: s.args.dataDir, uid: UID }, { log, tracing });
    expect(back.restore?.state).toBe('rolled-back');
    expect(s.db(s.args.dataDir)).toBe('old');
    expect(s.leftovers()).toEqual([]);
  });
});
