// "Exactly once" for the HA cases, judged from the whole history the event logs kept: each
// VolumeSnapshot is Ready with exactly one record, that record ran exactly one save (one save Job
// uid, one save pod uid, one startedAt ever written) and left exactly one file, whose checksum is
// the record's.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import type { ContentInfo } from '../../harness/snapshot-stack.ts';
import type { EventLog, WatchedObject } from './event-log.ts';
import { ETCD_NAMESPACE, type HaStack } from './ha-stack.ts';

const LABEL_SNAPSHOT_ID = 'snapshot.etcd-snapshot-driver.io/snapshot-id';
const LABEL_OPERATION = 'snapshot.etcd-snapshot-driver.io/operation';

export interface Histories {
  jobs: EventLog;
  pods: EventLog;
  records: EventLog<WatchedObject & EtcdSnapshot>;
}

export interface SaveHistory {
  volumeSnapshot: string;
  record: string;
  jobUids: string[];
  podUids: string[];
  startedAts: string[];
  files: string[];
  checksumMatches: boolean;
}

function distinct(values: (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined && v !== ''))];
}

async function claimDir(stack: HaStack, claim: string): Promise<string> {
  const pvc = await stack.getJson<{ spec?: { volumeName?: string } }>(['pvc', claim, '-n', ETCD_NAMESPACE]);
  const pv = await stack.getJson<{ spec?: { hostPath?: { path?: string } } }>([
    'pv',
    pvc.spec?.volumeName ?? '',
  ]);
  const path = pv.spec?.hostPath?.path;
  if (!path) throw new Error(`snapshot claim ${claim} has no hostPath PV`);
  return path;
}

/** What happened to the save of each named VolumeSnapshot (all must be readyToUse already). */
export async function saveHistories(
  stack: HaStack,
  logs: Histories,
  volumeSnapshots: readonly string[],
): Promise<SaveHistory[]> {
  const records = await stack.records();
  const all = await stack.volumeSnapshots();
  const out: SaveHistory[] = [];
  for (const name of volumeSnapshots) {
    const vs = all.find((v) => v.metadata.name === name);
    if (vs?.status?.readyToUse !== true) throw new Error(`VolumeSnapshot ${name} is not readyToUse`);
    const content = await stack.getJson<ContentInfo>([
      'volumesnapshotcontent',
      vs.status.boundVolumeSnapshotContentName ?? '',
    ]);
    const handle = content.status?.snapshotHandle;
    const mine = records.filter((r) => r.spec.members.some((m) => m.snapshotId === handle));
    if (mine.length !== 1)
      throw new Error(`VolumeSnapshot ${name} (handle ${handle}) has ${mine.length} records, expected 1`);
    const record = mine[0]!;
    const recordName = record.metadata!.name!;
    const isSave = (o: WatchedObject) =>
      o.metadata.labels?.[LABEL_SNAPSHOT_ID] === recordName &&
      o.metadata.labels?.[LABEL_OPERATION] === 'save';
    const dir = join(await claimDir(stack, record.spec.storage.claimName), recordName);
    const file = join(dir, 'snapshot.db');
    out.push({
      volumeSnapshot: name,
      record: recordName,
      jobUids: distinct(logs.jobs.events.filter((e) => isSave(e.object)).map((e) => e.object.metadata.uid)),
      podUids: distinct(logs.pods.events.filter((e) => isSave(e.object)).map((e) => e.object.metadata.uid)),
      startedAts: distinct(
        logs.records.events
          .filter((e) => e.object.metadata.name === recordName)
          .map((e) => e.object.status?.startedAt),
      ),
      files: existsSync(dir) ? readdirSync(dir).sort() : [],
      checksumMatches:
        existsSync(file) &&
        createHash('sha256').update(readFileSync(file)).digest('hex') === record.status?.checksumSha256,
    });
  }
  return out;
}

/** A history in counts, to compare with ONCE: one Job, one pod, one start, one file. */
export function counts(h: SaveHistory) {
  return {
    volumeSnapshot: h.volumeSnapshot,
    saveJobs: h.jobUids.length,
    savePods: h.podUids.length,
    starts: h.startedAts.length,
    files: h.files,
    checksumMatches: h.checksumMatches,
  };
}

export function once(volumeSnapshot: string): ReturnType<typeof counts> {
  return {
    volumeSnapshot,
    saveJobs: 1,
    savePods: 1,
    starts: 1,
    files: ['snapshot.db', 'snapshot.meta.json'],
    checksumMatches: true,
  };
}
