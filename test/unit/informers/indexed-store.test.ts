import { describe, expect, it } from 'vitest';
import { IndexConflictError, UnknownIndexError } from '../../../src/informers/errors.ts';
import { IndexedStore } from '../../../src/informers/indexed-store.ts';
import type { StoredObject } from '../../../src/informers/store-types.ts';

interface Obj extends StoredObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

const obj = (name: string, labels: Record<string, string> = {}, namespace = 'ns'): Obj => ({
  metadata: { name, namespace, labels },
});
const byTeam = (o: Obj) => (o.metadata.labels?.team ? [o.metadata.labels.team] : []);
const names = (list: Obj[]) => list.map((o) => o.metadata.name).sort();

describe('IndexedStore', () => {
  it('gets by namespace/name key, or name for cluster-scoped objects', () => {
    const store = new IndexedStore<Obj>();
    store.upsert(obj('a'));
    store.upsert({ metadata: { name: 'pv-1' } });
    expect(store.get('ns/a')?.metadata.name).toBe('a');
    expect(store.get('pv-1')?.metadata.name).toBe('pv-1');
    expect([...store.keys()].sort()).toEqual(['ns/a', 'pv-1']);
    expect(store.size).toBe(2);
  });

  it('lists by index value and follows updates and removals', () => {
    const store = new IndexedStore<Obj>();
    store.addIndexer('team', byTeam);
    store.upsert(obj('a', { team: 'red' }));
    store.upsert(obj('b', { team: 'red' }));
    store.upsert(obj('c', { team: 'blue' }));
    expect(names(store.byIndex('team', 'red'))).toEqual(['a', 'b']);
    store.upsert(obj('a', { team: 'blue' }));
    expect(names(store.byIndex('team', 'red'))).toEqual(['b']);
    expect(names(store.byIndex('team', 'blue'))).toEqual(['a', 'c']);
    expect(store.remove('ns/c')?.metadata.name).toBe('c');
    expect(store.remove('ns/c')).toBeUndefined();
    expect(names(store.byIndex('team', 'blue'))).toEqual(['a']);
    expect(store.byIndex('team', 'green')).toEqual([]);
  });

  it('indexes objects already cached when an index is added later', () => {
    const store = new IndexedStore<Obj>();
    store.upsert(obj('a', { team: 'red' }));
    store.addIndexer('team', byTeam);
    expect(names(store.byIndex('team', 'red'))).toEqual(['a']);
  });

  it('indexes an object under several values', () => {
    const store = new IndexedStore<Obj>();
    store.addIndexer('labels', (o) => Object.keys(o.metadata.labels ?? {}));
    store.upsert(obj('a', { x: '1', y: '2' }));
    expect(names(store.byIndex('labels', 'x'))).toEqual(['a']);
    expect(names(store.byIndex('labels', 'y'))).toEqual(['a']);
  });

  it('throws for an unknown index, and for a second function under a used name', () => {
    const store = new IndexedStore<Obj>();
    expect(() => store.byIndex('nope', 'x')).toThrow(UnknownIndexError);
    store.addIndexer('team', byTeam);
    store.addIndexer('team', byTeam); // same function: fine
    expect(() => store.addIndexer('team', (o) => [o.metadata.name])).toThrow(IndexConflictError);
  });
});
