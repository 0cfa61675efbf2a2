// What a reconciler's controller factory needs of an informer: a watchable source whose store it
// can add indexes to (the shared informers; a test's fake may not index, hence optional).
import type { IndexFunc, StoredObject } from '../informers/store-types.ts';
import type { Source } from './controller.ts';

/** An informer as the factory needs it: events, store, and indexes it can add. */
export interface IndexableSource<T extends StoredObject> extends Source<T> {
  addIndexer?(name: string, fn: IndexFunc<T>): unknown;
}
