// The scheduled verify of remote copies (--remote-verify-interval): a Ready record with a copy
// gets a verify Job when due (the intent in status first, one per cluster at a time); a damaged
// copy sets RemoteCopyVerified=False with CHECKSUM_MISMATCH, a Warning Event and the metric; the
// last verify time is recorded either way and the next one waits a whole interval.
import { describe, expect, it } from 'vitest';
import { nextVerifyAt } from '../../../../src/reconcile/etcd-snapshot/remote-verify.ts';
import type { EtcdSnapshotStatus } from '../../../../src/records/etcd-snapshot.ts';
import { FakeWorld, healthy, makeReconciler } from './fakes.ts';

const HOUR = 3_600_000;
const FINISHED = '2026-01-01T00:02:00Z';
const REMOTE = {
  location: 's3://backups/etcd/main/r1/',
  object: 's3://backups/etcd/main/r1/snapshot-x.db.zst.enc',
  sha256: 'b'.repeat(64),
  sizeBytes: 4096,
  compression: 'zstd' as const,
  keyId: '0123456789abcdef',
};
const ready = (extra: Partial<EtcdSnapshotStatus> = {}): EtcdSnapshotStatus => ({
  phase: 'Ready',
  readyToUse: true,
  step: 'Ready',
  backupPath: 'r1/snapshot.db',
  saveJob: 'snapshot-save-r1',
  uploadJob: 'snapshot-upload-r1',
  finishedAt: FINISHED,
  remote: REMOTE,
  ...extra,
});
const mismatch = JSON.stringify({
  operation: 'verify',
  ok: false,
  error: { reason: 'CHECKSUM_MISMATCH', message: 'stored bytes sha256 1234… ≠ the manifest’s b…' },
});
const verified = JSON.stringify({ operation: 'verify', ok: true, remote: { ...REMOTE, manifest: 'm' } });

function setup(names: string[] = ['r1'], at = Date.parse(FINISHED) + HOUR + 1_000) {
  const w = new FakeWorld();
  for (const n of names) {
    const r = w.addRecord(n);
    r.spec.objectStore = {
      secretName: 'store',
      compression: 'zstd',
      encryptionKeySecret: 'key',
      mode: 'required',
    };
    w.records.upsert({
      ...r,
      status: ready({ remote: { ...REMOTE, location: `s3://backups/etcd/main/${n}/` } }),
    });
  }
  let now = at;
  const reconciler = makeReconciler(
    w,
    async () => healthy,
    () => new Date(now),
    {
      options: { remoteVerifyIntervalMs: HOUR },
    },
  );
  const advance = (ms: number) => {
    now += ms;
  };
  return { w, ...reconciler, advance };
}

describe('pipeline reconciler: scheduled verify of remote copies', () => {
  it('due: the intent, then a verify Job with the store and key Secrets; a mismatch → RemoteCopyVerified=False, Warning, metric', async () => {
    const { w, run, metrics } = setup();
    await run('r1');
    expect(w.calls).toEqual(['putStatus r1 Ready/Ready']);
    expect(w.record('r1').status?.remoteVerifyJob).toBe('snapshot-verify-r1');
    await run('r1');
    const pod = w.jobs.get('etcd/snapshot-verify-r1')!.spec!.template.spec!;
    expect(pod.containers[0]!.args).toEqual([
      'agent',
      'verify',
      '--remote',
      '--store-config-dir=/etc/etcd-snapshot-driver/object-store',
      '--namespace=etcd',
      '--cluster=main',
      '--snapshot=r1',
      '--encryption-key-file=/etc/etcd-snapshot-driver/encryption-key/key',
    ]);
    expect(
      pod.volumes?.map((v) => [v.name, v.secret?.secretName ?? v.persistentVolumeClaim?.claimName]),
    ).toEqual([
      ['snapshots', 'etcd-snapshots-main'],
      ['object-store', 'store'],
      ['encryption-key', 'key'],
    ]);
    await run('r1');
    expect(w.record('r1').status?.conditions).toBeUndefined();

    w.finishJob('snapshot-verify-r1', { complete: false, exitCode: 12, message: mismatch });
    const result = await run('r1');
    const status = w.record('r1').status!;
    expect(status).toMatchObject({ phase: 'Ready', readyToUse: true, remoteVerifiedAt: expect.any(String) });
    expect(status.remoteVerifyJob).toBeUndefined();
    expect(status.conditions).toEqual([
      {
        type: 'RemoteCopyVerified',
        status: 'False',
        reason: 'CHECKSUM_MISMATCH',
        message: expect.stringContaining('stored bytes sha256'),
        lastTransitionTime: expect.any(String),
      },
    ]);
    expect(w.events.at(-1)?.event).toMatchObject({
      type: 'Warning',
      reason: 'RemoteCopyVerifyFailed',
      message: expect.stringMatching(/^CHECKSUM_MISMATCH: /),
    });
    expect(metrics.calls.filter((c) => c.name === 'remoteVerify').map((c) => c.args)).toEqual([
      ['etcd/main', 'CHECKSUM_MISMATCH'],
    ]);
    expect(w.calls).toContain('deleteJob snapshot-verify-r1');
    expect(result.requeueAfter).toBe(HOUR);
  });

  it('not due yet: nothing is written, the record looks again when it is', async () => {
    const { w, run } = setup(['r1'], Date.parse(FINISHED) + HOUR - 5_000);
    const result = await run('r1');
    expect(w.calls).toEqual([]);
    expect(result.requeueAfter).toBe(5_000);
  });

  it('a copy that verifies: RemoteCopyVerified=True and the time; the next verify a whole interval later', async () => {
    const { w, run, advance, metrics } = setup();
    await run('r1');
    await run('r1');
    w.finishJob('snapshot-verify-r1', { complete: true, message: verified });
    await run('r1');
    const status = w.record('r1').status!;
    expect(status.conditions).toEqual([
      { type: 'RemoteCopyVerified', status: 'True', lastTransitionTime: expect.any(String) },
    ]);
    expect(metrics.calls.filter((c) => c.name === 'remoteVerify').map((c) => c.args)).toEqual([
      ['etcd/main', 'success'],
    ]);
    w.calls.length = 0;
    advance(HOUR - 10_000);
    await run('r1');
    expect(w.calls).toEqual([]);
    advance(20_000);
    await run('r1');
    expect(w.record('r1').status?.remoteVerifyJob).toBe('snapshot-verify-r1');
  });

  it('one verify per cluster at a time', async () => {
    const { w, run } = setup(['r1', 'r2']);
    await run('r1');
    await run('r2');
    expect(w.record('r1').status?.remoteVerifyJob).toBe('snapshot-verify-r1');
    expect(w.record('r2').status?.remoteVerifyJob).toBeUndefined();
  });

  it('without the flag, or without a copy, a Ready record is never verified', () => {
    const w = new FakeWorld();
    const r = w.addRecord('r1');
    r.spec.objectStore = { secretName: 'store', compression: 'zstd', mode: 'required' };
    expect(nextVerifyAt({ ...r, status: ready() }, 0)).toBeUndefined();
    expect(nextVerifyAt({ ...r, status: ready({ remote: undefined }) }, HOUR)).toBeUndefined();
    expect(nextVerifyAt({ ...r, status: ready({ remoteVerifiedAt: '2026-01-02T00:00:00Z' }) }, HOUR)).toBe(
      Date.parse('2026-01-02T01:00:00Z'),
    );
  });

  it('deleting the record stops a running verify before its files are removed', async () => {
    const { w, run } = setup();
    await run('r1');
    await run('r1');
    w.markDeleted('r1');
    w.calls.length = 0;
    await run('r1');
    expect(w.calls).toContain('deleteJob snapshot-verify-r1');
  });
});
