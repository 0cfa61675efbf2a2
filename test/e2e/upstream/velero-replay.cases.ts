// Velero ≥ 1.17's group-snapshot backup and its deletion, replayed step by step as Kubernetes
// API calls without a Velero binary against the real snapshot-controller and csi-snapshotter
// (external-snapshotter v8.7.0), on the cluster of velero.test.ts, following vmware-tanzu/velero:
// - backup, pkg/backup/actions/csi/pvc_action.go getVolumeSnapshotReference: create the
//   VolumeGroupSnapshot (labels velero.io/backup-name, velero.io/backup-uid, the group label);
//   waitForVGSAssociatedVS; updateVGSCreatedVS (drop the group's ownerReference and the
//   in-group/as-source protection finalizers, add the backup labels); waitForVGSCBinding;
//   patchVGSCDeletionPolicy (Retain); deleteVGSAndVGSC (the content first, then the group);
// - end of backup, pkg/util/csi DeleteReadyVolumeSnapshot per member: the VolumeSnapshotContent
//   patched to Retain and deleted, then the VolumeSnapshot deleted. The content as it was backed
//   up (with status) is what the backup keeps;
// - backup deletion, internal/delete/actions/csi/volumesnapshotcontent_action.go: for each kept
//   content, a temporary copy named vsc-<uuid> with deletionPolicy Delete, source
//   {snapshotHandle: status.snapshotHandle}, volumeSnapshotRef to a VolumeSnapshot that does not
//   exist (ns-<uid>/name-<uid>, no UID), no volumeSnapshotClassName, no resourceVersion; created,
//   2 s later deleted. csi-snapshotter fills the copy's status from ListSnapshots and, as long as
//   that status has no volumeGroupSnapshotHandle, calls DeleteSnapshot(snapshotHandle) on delete.
// The file of the etcd cluster (one record for both members) must outlive the first member's
// deletion and go with the last.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import type { EtcdFixture } from '../../harness/etcd-fixture.ts';
import { withHostAccess } from '../../harness/existing-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import {
  type ContentInfo,
  GROUP_SNAPSHOT_CLASS,
  LABEL_GROUP_SNAPSHOT_ID,
  type SnapshotStack,
  type VolumeGroupSnapshotInfo,
  type VolumeSnapshotInfo,
} from '../../harness/snapshot-stack.ts';
import { putKeys, sha256File } from '../pipeline/env.ts';
import { NS, seconds, type UpstreamEnv } from './velero-context.ts';

export const GROUP_LABEL = 'velero.io/volume-group-snapshot';
const BACKUP = 'etcd-1';
const BACKUP_UID = randomUUID();
const BACKUP_LABELS = { 'velero.io/backup-name': BACKUP, 'velero.io/backup-uid': BACKUP_UID };
// Velero's VolumeSnapshotFinalizerGroupProtection and VolumeSnapshotFinalizerSourceProtection.
const MEMBER_FINALIZERS = [
  'snapshot.storage.kubernetes.io/volumesnapshot-in-group-protection',
  'snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection',
];
/** Velero's tempVSCCreateDeleteGap. */
const TEMP_CONTENT_GAP_MS = 2_000;

let etcd: EtcdFixture;
let stack: SnapshotStack;

interface Meta {
  name: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  ownerReferences?: { uid: string }[];
  finalizers?: string[];
}
type Obj = { metadata: Meta; spec: Record<string, unknown>; status?: Record<string, unknown> } & Record<
  string,
  unknown
>;

/** Get, change, PUT — again on a conflict (Velero: retry.RetryOnConflict around Get+Update). */
async function update(args: readonly string[], change: (o: Obj) => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const o = await stack.getJson<Obj>(args);
    change(o);
    const r = await stack.kubectl(['replace', '-f', '-'], { input: JSON.stringify(o) }).then(
      () => undefined,
      (err: unknown) => err,
    );
    if (r === undefined) return;
    if (attempt >= 5 || !String(r).includes('modified')) throw r;
  }
}

async function recordOfGroup(handle: string): Promise<EtcdSnapshot | undefined> {
  const records = await stack.records(NS, `${LABEL_GROUP_SNAPSHOT_ID}=${handle}`);
  expect(records.length).toBeLessThanOrEqual(1);
  return records[0];
}

export function veleroReplayCases(env: () => UpstreamEnv): void {
  describe('Velero ≥ 1.17: a group backup, then its deletion member by member', () => {
    beforeAll(() => {
      ({ etcd, stack } = env());
    });
    let groupHandle = '';
    let file = '';
    let checksum = '';
    const backedUp: Obj[] = [];

    it('backup: the group is made, its members detached, the group and contents deleted with Retain; the file stays', async () => {
      await putKeys(etcd, { '/app/a': '1' });
      const t = performance.now();
      const created = await stack
        .kubectl(['create', '-o', 'json', '-f', '-'], {
          input: JSON.stringify({
            apiVersion: 'groupsnapshot.storage.k8s.io/v1',
            kind: 'VolumeGroupSnapshot',
            metadata: {
              generateName: 'velero-etcd-main-',
              namespace: NS,
              labels: { ...BACKUP_LABELS, [GROUP_LABEL]: 'etcd-main' },
            },
            spec: {
              volumeGroupSnapshotClassName: GROUP_SNAPSHOT_CLASS,
              source: { selector: { matchLabels: { [GROUP_LABEL]: 'etcd-main' } } },
            },
          }),
        })
        .then((r) => JSON.parse(r.stdout) as VolumeGroupSnapshotInfo);
      const vgs = created.metadata.name;
      const vgsUid = created.metadata.uid!;

      // waitForVGSAssociatedVS: owned by the group and naming it in status, one per grouped claim.
      const members = await waitFor(
        'two VolumeSnapshots owned by the group and naming it',
        async () => {
          const list = (
            await stack.getJson<{ items: (VolumeSnapshotInfo & Obj)[] }>(['volumesnapshots', '-n', NS])
          ).items;
          const mine = list.filter(
            (vs) =>
              vs.metadata.ownerReferences?.some((o) => o.uid === vgsUid) &&
              vs.status?.volumeGroupSnapshotName === vgs,
          );
          return mine.length === 2 ? mine : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1_000 },
      );
      // updateVGSCreatedVS.
      for (const vs of members) {
        await update(['volumesnapshot', vs.metadata.name, '-n', NS], (o) => {
          o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== vgsUid);
          o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => !MEMBER_FINALIZERS.includes(f));
          o.metadata.labels = { ...o.metadata.labels, ...BACKUP_LABELS };
        });
      }
      // waitForVGSCBinding.
      const bound = await waitFor(
        'the group to name its content',
        async () => {
          const g = await stack.getJson<VolumeGroupSnapshotInfo>(['volumegroupsnapshot', vgs, '-n', NS]);
          return g.status?.boundVolumeGroupSnapshotContentName ? g : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1_000 },
      );
      const vgsc = bound.status!.boundVolumeGroupSnapshotContentName!;
      // patchVGSCDeletionPolicy, deleteVGSAndVGSC.
      await update(['volumegroupsnapshotcontent', vgsc], (o) => {
        o.spec.deletionPolicy = 'Retain';
      });
      groupHandle = (await stack.getJson<ContentInfo>(['volumegroupsnapshotcontent', vgsc])).status
        ?.volumeGroupSnapshotHandle as string;
      expect(groupHandle).toMatch(/^grp-/);
      await stack.kubectl(['delete', 'volumegroupsnapshotcontent', vgsc, '--wait=false']);
      await stack.kubectl(['delete', 'volumegroupsnapshot', vgs, '-n', NS, '--wait=false']);

      // The VolumeSnapshot action: WaitUntilVSCHandleIsReady (the member's content has a snapshot
      // handle), then its Progress until the content is readyToUse (the member VolumeSnapshot's own
      // readyToUse is not required: snapshot-controller stops updating a member's status once the
      // group content it names is gone — common-controller updateSnapshotStatus). The content as
      // it then is, with Velero's labels, is what the backup keeps.
      for (const vs of members) {
        const vscName = await waitFor(
          `the content of ${vs.metadata.name} to be ready with a snapshot handle`,
          async () => {
            const v = await stack.getJson<VolumeSnapshotInfo>(['volumesnapshot', vs.metadata.name, '-n', NS]);
            const name = v.status?.boundVolumeSnapshotContentName;
            if (!name) return undefined;
            const c = await stack.getJson<ContentInfo>(['volumesnapshotcontent', name]);
            return c.status?.snapshotHandle && c.status.readyToUse === true ? name : undefined;
          },
          { timeoutMs: 150_000, intervalMs: 1_000 },
        ).catch(async (err: unknown) => {
          const state = await stack.kubectl([
            'get',
            'volumesnapshots,volumesnapshotcontents',
            '-A',
            '-o',
            'yaml',
          ]);
          throw new Error(`member ${vs.metadata.name}: ${String(err)}\n${state.stdout}`);
        });
        await update(['volumesnapshotcontent', vscName], (o) => {
          o.metadata.labels = { ...o.metadata.labels, ...BACKUP_LABELS };
        });
        backedUp.push(await stack.getJson<Obj>(['volumesnapshotcontent', vscName]));
      }
      console.log(`backup (group → members ready, kept): ${seconds(t)}`);
      expect(backedUp.map((c) => (c.status as ContentInfo['status'])?.volumeGroupSnapshotHandle)).toEqual([
        groupHandle,
        groupHandle,
      ]);

      // DeleteReadyVolumeSnapshot per member.
      for (const c of backedUp) {
        await update(['volumesnapshotcontent', c.metadata.name], (o) => {
          o.spec.deletionPolicy = 'Retain';
        });
        await stack.kubectl(['delete', 'volumesnapshotcontent', c.metadata.name, '--wait=false']);
      }
      for (const vs of members) {
        await stack.kubectl([
          'delete',
          'volumesnapshot',
          vs.metadata.name,
          '-n',
          NS,
          '--ignore-not-found',
          '--wait=false',
        ]);
      }
      for (const vs of members) await stack.waitGone(['volumesnapshot', vs.metadata.name, '-n', NS], 120_000);
      // Velero does not wait for the contents to go. With v8.7.0 they do not: nothing puts the
      // being-deleted annotation on them and their source is a volume handle, so csi-snapshotter's
      // shouldDelete stays false and its finalizer stays. Logged, not asserted (an upstream detail);
      // Velero's later tryDeleteOriginalVSC (velero-io/velero#9628) would find them.
      for (const c of backedUp) {
        const left = await stack
          .getJson<ContentInfo>(['volumesnapshotcontent', c.metadata.name])
          .then((o) => `still there, finalizers ${JSON.stringify(o.metadata.finalizers ?? [])}`)
          .catch(() => 'gone');
        console.log(`kept content ${c.metadata.name} after its deletion: ${left}`);
      }
      await stack.waitGone(['volumegroupsnapshotcontent', vgsc], 120_000);
      await stack.waitGone(['volumegroupsnapshot', vgs, '-n', NS], 120_000);
      console.log(`backup finished (group and members gone): ${seconds(t)}`);

      const record = await recordOfGroup(groupHandle);
      expect(record?.status).toMatchObject({ phase: 'Ready', readyToUse: true });
      expect(record!.spec.members.filter((m) => m.deletionRequested)).toEqual([]);
      file = await stack.recordFile(record!);
      checksum = record!.status!.checksumSha256!;
      await withHostAccess('the backed-up file’s SHA-256', () => {
        expect(sha256File(file)).toBe(checksum);
      });
    });

    /** volumeSnapshotContentDeleteItemAction.Execute for one kept content. */
    async function deleteKeptContent(kept: Obj): Promise<void> {
      const handle = (kept.status as ContentInfo['status'])?.snapshotHandle;
      expect(handle).toMatch(/^(snap|grp)-/);
      const { volumeSnapshotClassName: _class, ...spec } = kept.spec;
      const temp = {
        ...kept,
        metadata: { ...kept.metadata, name: `vsc-${randomUUID()}`, resourceVersion: undefined },
        spec: {
          ...spec,
          deletionPolicy: 'Delete',
          source: { snapshotHandle: handle },
          volumeSnapshotRef: {
            apiVersion: 'snapshot.storage.k8s.io/v1',
            kind: 'VolumeSnapshot',
            namespace: `ns-${kept.metadata.uid}`,
            name: `name-${kept.metadata.uid}`,
          },
        },
      };
      await stack.kubectl(['create', '-f', '-'], { input: JSON.stringify(temp) });
      await sleep(TEMP_CONTENT_GAP_MS);
      const seen = await stack.getJson<ContentInfo>(['volumesnapshotcontent', temp.metadata.name]);
      console.log(
        `temp content ${temp.metadata.name} after ${TEMP_CONTENT_GAP_MS} ms: status ${JSON.stringify(seen.status ?? null)}`,
      );
      await stack.kubectl(['delete', 'volumesnapshotcontent', temp.metadata.name, '--wait=false']);
      await stack.waitGone(['volumesnapshotcontent', temp.metadata.name], 120_000);
      // What csi-snapshotter decides from: the status it filled from ListSnapshots.
      expect(seen.status?.snapshotHandle).toBe(handle);
      expect(seen.status?.volumeGroupSnapshotHandle).toBeUndefined();
    }

    it('backup deletion: the first member’s re-created content is deleted — the file stays, that member is marked', async () => {
      const t = performance.now();
      await deleteKeptContent(backedUp[0]!);
      const first = (backedUp[0]!.status as ContentInfo['status'])!.snapshotHandle!;
      const record = await waitFor(
        'the first member to be marked for deletion',
        async () => {
          const r = await recordOfGroup(groupHandle);
          return r?.spec.members.find((m) => m.snapshotId === first)?.deletionRequested ? r : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      console.log(`first member deleted → marked: ${seconds(t)}`);
      expect(record.metadata?.deletionTimestamp).toBeUndefined();
      expect(record.spec.members.filter((m) => !m.deletionRequested)).toHaveLength(1);
      await withHostAccess('that the file outlives the first member’s deletion, unchanged', () => {
        expect(existsSync(file)).toBe(true);
        expect(sha256File(file)).toBe(checksum);
      });
    });

    it('backup deletion: the last member’s re-created content is deleted — the record and file go', async () => {
      const t = performance.now();
      await deleteKeptContent(backedUp[1]!);
      await waitFor(
        'the record to be gone',
        async () => ((await recordOfGroup(groupHandle)) ? undefined : true),
        {
          timeoutMs: 150_000,
          intervalMs: 1_000,
        },
      );
      console.log(`last member deleted → record gone: ${seconds(t)}`);
      await withHostAccess('that the file goes with the last member', () => {
        expect(existsSync(file)).toBe(false);
      });
    });
  });
}
