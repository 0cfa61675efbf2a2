// Which CO objects reference a record: VolumeSnapshotContents (by snapshot handle = a member's
// CSI snapshot ID) and VolumeGroupSnapshotContents (by group handle = the group snapshot ID), as
// the informers have them now — and, for contents that are gone, the deletionPolicy they had when
// this process last saw them. A content's policy goes with the content; the informer's delete
// event is the last chance to learn it, so it is kept in memory (lost on restart: then unknown).
// Only synced stores are judged: a content not listed yet is not a content that is gone.
import type { Subscription } from 'rxjs';
import type { UnstructuredObject } from '../../informers/resources.ts';
import type { IndexFunc, InformerEvent } from '../../informers/store-types.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { IndexableSource } from '../indexable-source.ts';

export const INDEX_CONTENT_HANDLE = 'retention-content-handle';

export type DeletionPolicy = 'Delete' | 'Retain';

/** What the record's contents look like now. */
export type ContentState =
  /** The snapshot CRDs are not installed: no CO object can reference the record. */
  | { kind: 'no-crds' }
  | { kind: 'present'; names: string[] }
  /** A content store has not synced: "not cached" may mean "not listed yet", so nothing is judged. */
  | { kind: 'unknown' }
  /** No content references the record; `policy` of the gone ones when one was seen. */
  | { kind: 'gone'; policy?: DeletionPolicy };

type Content = UnstructuredObject & {
  spec?: {
    deletionPolicy?: string;
    driver?: string;
    source?: {
      snapshotHandle?: string;
      groupSnapshotHandles?: { volumeGroupSnapshotHandle?: string };
      volumeGroupSnapshotHandle?: string;
    };
  };
  status?: { snapshotHandle?: string; volumeGroupSnapshotHandle?: string };
};

/** The CSI IDs a content names: its own handle, whether dynamically made (status) or given (spec). */
export const contentHandleIndexer: IndexFunc<UnstructuredObject> = (obj) => {
  const c = obj as Content;
  const handles = [
    c.status?.snapshotHandle,
    c.status?.volumeGroupSnapshotHandle,
    c.spec?.source?.snapshotHandle,
    c.spec?.source?.groupSnapshotHandles?.volumeGroupSnapshotHandle,
    c.spec?.source?.volumeGroupSnapshotHandle,
  ].filter((h): h is string => typeof h === 'string' && h !== '');
  return [...new Set(handles)];
};

/** The CSI IDs a record is known by to the CO. */
export function recordHandles(record: EtcdSnapshot): string[] {
  const ids = (record.spec?.members ?? []).map((m) => m.snapshotId);
  if (record.spec?.groupSnapshotId) ids.push(record.spec.groupSnapshotId);
  return ids;
}

export class ContentReferences {
  readonly #sources: IndexableSource<UnstructuredObject>[];
  /** handle → the policy of the last content with that handle that was deleted. */
  readonly #gonePolicies = new Map<string, DeletionPolicy>();
  readonly #subscriptions: Subscription[] = [];

  constructor(sources: (IndexableSource<UnstructuredObject> | undefined)[]) {
    this.#sources = sources.filter((s): s is IndexableSource<UnstructuredObject> => s !== undefined);
    for (const s of this.#sources) s.addIndexer?.(INDEX_CONTENT_HANDLE, contentHandleIndexer);
  }

  /** Starts remembering the policies of deleted contents; call before the informers replay. */
  start(): void {
    for (const s of this.#sources) {
      this.#subscriptions.push(s.events$.subscribe((e) => this.observe(e)));
    }
  }

  stop(): void {
    for (const s of this.#subscriptions) s.unsubscribe();
  }

  observe(event: InformerEvent<UnstructuredObject>): void {
    if (event.type !== 'deleted') return;
    const policy = (event.object as Content).spec?.deletionPolicy;
    if (policy !== 'Delete' && policy !== 'Retain') return;
    for (const h of contentHandleIndexer(event.object)) this.#gonePolicies.set(h, policy);
  }

  get installed(): boolean {
    return this.#sources.length > 0;
  }

  /** Whether every content store holds a complete list (an "absent" verdict needs them all). */
  get synced(): boolean {
    return this.#sources.every((s) => s.hasSynced !== false);
  }

  stateOf(record: EtcdSnapshot): ContentState {
    if (!this.installed) return { kind: 'no-crds' };
    if (!this.synced) return { kind: 'unknown' };
    const handles = recordHandles(record);
    const names = new Set<string>();
    for (const s of this.#sources)
      for (const h of handles)
        for (const c of s.store.byIndex(INDEX_CONTENT_HANDLE, h)) names.add(c.metadata?.name ?? '');
    if (names.size > 0) return { kind: 'present', names: [...names] };
    // Retain wins: one gone content that asked to keep the snapshot keeps it.
    const policies = handles.map((h) => this.#gonePolicies.get(h)).filter((p) => p !== undefined);
    if (policies.includes('Retain')) return { kind: 'gone', policy: 'Retain' };
    if (policies.includes('Delete')) return { kind: 'gone', policy: 'Delete' };
    return { kind: 'gone' };
  }

  /** Forgets the policies of a record that is gone (memory stays bounded). */
  forget(record: EtcdSnapshot): void {
    for (const h of recordHandles(record)) this.#gonePolicies.delete(h);
  }
}
