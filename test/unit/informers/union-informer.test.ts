// UnionInformer: one store and one event stream over informers narrowed by different selectors.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Informer } from '../../../src/informers/informer.ts';
import type { ResourceDefinition } from '../../../src/informers/resources.ts';
import { objectKey } from '../../../src/informers/store-types.ts';
import { UnionInformer } from '../../../src/informers/union-informer.ts';
import { FakeCollection, type TestObject } from './fake-collection.ts';

const resource: ResourceDefinition<TestObject> = {
  group: 'test.io',
  version: 'v1',
  plural: 'things',
  kind: 'Thing',
  namespaced: true,
};

const running: Informer<TestObject>[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

function member(server: FakeCollection): Informer<TestObject> {
  const informer = new Informer(resource, server, { reflector: { random: () => 0.5 } });
  running.push(informer);
  return informer;
}

const byData = (o: TestObject) => [o.data ?? ''];

describe('UnionInformer', () => {
  it('is synced only when every member is, and reads across them by key, list and index', async () => {
    const first = new FakeCollection();
    const second = new FakeCollection();
    first.create('a', 'x');
    second.create('b', 'x');
    second.create('c', 'y');
    const [one, two] = [member(first), member(second)];
    const union = new UnionInformer([one, two]).addIndexer('data', byData);
    one.start();
    await one.waitForSync();
    expect(union.hasSynced).toBe(false);
    two.start();
    await union.waitForSync();
    expect(union.hasSynced).toBe(true);
    expect(union.store.get('ns/b')?.data).toBe('x');
    expect(union.store.get('ns/a')?.data).toBe('x');
    expect(union.store.list().map(objectKey).sort()).toEqual(['ns/a', 'ns/b', 'ns/c']);
    expect(union.store.byIndex('data', 'x').map(objectKey).sort()).toEqual(['ns/a', 'ns/b']);
    expect(union.store.size).toBe(3);
  });

  it('holds an object two members share once, and merges their events', async () => {
    const first = new FakeCollection();
    const second = new FakeCollection();
    first.create('a', 'x');
    second.create('a', 'x');
    const union = new UnionInformer([member(first), member(second)]);
    const events: string[] = [];
    union.events$.subscribe((e) => events.push(`${e.type} ${objectKey(e.object)}`));
    for (const m of union.members) m.start();
    await union.waitForSync();
    expect([...union.store.keys()]).toEqual(['ns/a']);
    expect(union.store.size).toBe(1);
    second.create('b');
    await vi.waitFor(() => expect(events).toContain('added ns/b'));
    expect(events.filter((e) => e === 'added ns/a')).toHaveLength(2);
  });

  it('refuses an empty union', () => {
    expect(() => new UnionInformer<TestObject>([])).toThrow(/at least one/);
  });
});
