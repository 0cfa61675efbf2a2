// ResourceDefinition.keep: objects that fail it are never cached, and one that stops qualifying
// leaves the cache as a delete.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Informer } from '../../../src/informers/informer.ts';
import type { ResourceDefinition } from '../../../src/informers/resources.ts';
import { type InformerEvent, objectKey } from '../../../src/informers/store-types.ts';
import { FakeCollection, type TestObject } from './fake-collection.ts';

const managed: ResourceDefinition<TestObject> = {
  group: 'test.io',
  version: 'v1',
  plural: 'things',
  kind: 'Thing',
  namespaced: true,
  keep: (o) => o.data === 'mine',
};

const running: Informer<TestObject>[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

function start(server: FakeCollection) {
  const informer = new Informer(managed, server, { reflector: { pageSize: 2, random: () => 0.5 } });
  const events: string[] = [];
  informer.events$.subscribe((e: InformerEvent<TestObject>) =>
    events.push(`${e.type} ${objectKey(e.object)}`),
  );
  running.push(informer);
  informer.start();
  return { informer, events };
}

describe('an informer with a keep filter', () => {
  it('caches only what passes, from the list and from the watch', async () => {
    const server = new FakeCollection();
    server.create('a', 'mine');
    server.create('b', 'other');
    server.create('c', 'other');
    const { informer, events } = start(server);
    await informer.waitForSync();
    expect([...informer.store.keys()]).toEqual(['ns/a']);
    server.create('d', 'other');
    server.create('e', 'mine');
    await vi.waitFor(() => expect(informer.store.size).toBe(2));
    expect(informer.store.get('ns/d')).toBeUndefined();
    expect(events).toEqual(['added ns/a', 'added ns/e']);
  });

  it('drops an object that stops qualifying as a delete, and takes it back when it qualifies again', async () => {
    const server = new FakeCollection();
    server.create('a', 'mine');
    const { informer, events } = start(server);
    await informer.waitForSync();
    server.update('a', 'other');
    await vi.waitFor(() => expect(informer.store.size).toBe(0));
    server.update('a', 'mine');
    await vi.waitFor(() => expect(informer.store.size).toBe(1));
    expect(events).toEqual(['added ns/a', 'deleted ns/a', 'added ns/a']);
  });

  it('announces no delete for an object it never cached', async () => {
    const server = new FakeCollection();
    server.create('b', 'other');
    server.create('a', 'mine');
    const { informer, events } = start(server);
    await informer.waitForSync();
    server.update('b', 'still other');
    server.delete('b');
    server.create('z', 'mine');
    await vi.waitFor(() => expect(informer.store.size).toBe(2));
    expect(events).toEqual(['added ns/a', 'added ns/z']);
  });
});
