import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, TransportError } from '../../../src/informers/errors.ts';
import { Informer } from '../../../src/informers/informer.ts';
import type { ReflectorOptions } from '../../../src/informers/list-watch.ts';
import type { ResourceDefinition } from '../../../src/informers/resources.ts';
import { type InformerEvent, objectKey } from '../../../src/informers/store-types.ts';
import { FakeCollection, type TestObject } from './fake-collection.ts';

const resource: ResourceDefinition<TestObject> = {
  group: 'test.io',
  version: 'v1',
  plural: 'things',
  kind: 'Thing',
  namespaced: true,
};

const running: Informer<TestObject>[] = [];

function startInformer(server: FakeCollection, reflector: Partial<ReflectorOptions> = {}) {
  const informer = new Informer(resource, server, {
    reflector: { pageSize: 2, random: () => 0.5, ...reflector },
  });
  const events: InformerEvent<TestObject>[] = [];
  informer.events$.subscribe((e) => events.push(e));
  informer.start();
  running.push(informer);
  return { informer, events };
}

function summary(events: InformerEvent<TestObject>[]): string[] {
  return events.map((e) =>
    e.type === 'modified'
      ? `modified ${objectKey(e.object)} ${e.old.data}->${e.object.data}`
      : `${e.type} ${objectKey(e.object)}`,
  );
}

function storeMatchesServer(informer: Informer<TestObject>, server: FakeCollection): void {
  const cached = new Map(informer.store.list().map((o) => [objectKey(o), o.metadata.resourceVersion]));
  const served = new Map([...server.objects.values()].map((o) => [objectKey(o), o.metadata.resourceVersion]));
  expect(cached).toEqual(served);
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

describe('Informer list and watch', () => {
  it('lists page by page, then is synced with every object cached and announced', async () => {
    const server = new FakeCollection();
    for (const name of ['a', 'b', 'c', 'd', 'e']) server.create(name);
    const { informer, events } = startInformer(server);
    expect(informer.hasSynced).toBe(false);
    await informer.waitForSync();
    expect(server.listCalls.map((c) => c.continue)).toEqual([undefined, '6:2', '6:4']);
    expect(server.listCalls.every((c) => c.limit === 2)).toBe(true);
    expect(informer.store.size).toBe(5);
    expect(summary(events)).toEqual(['added ns/a', 'added ns/b', 'added ns/c', 'added ns/d', 'added ns/e']);
    expect(informer.lastSyncResourceVersion).toBe('6');
  });

  it('turns watch events into added, modified (with the old object) and deleted, store first', async () => {
    const server = new FakeCollection();
    server.create('a', 'one');
    const { informer, events } = startInformer(server);
    await informer.waitForSync();
    const seenInStore: (string | undefined)[] = [];
    informer.events$.subscribe((e) => seenInStore.push(informer.store.get(objectKey(e.object))?.data));
    seenInStore.length = 0; // drop the replayed "added"
    server.update('a', 'two');
    server.create('b', 'x');
    server.delete('a');
    await vi.waitFor(() => expect(events).toHaveLength(4));
    expect(summary(events)).toEqual(['added ns/a', 'modified ns/a one->two', 'added ns/b', 'deleted ns/a']);
    expect(seenInStore).toEqual(['two', 'x', undefined]);
    storeMatchesServer(informer, server);
    expect(server.watchCalls[0]?.resourceVersion).toBe('2');
  });

  it('replays the cache as added events to a late subscriber, then sends live events', async () => {
    const server = new FakeCollection();
    server.create('a');
    server.create('b');
    const { informer } = startInformer(server);
    await informer.waitForSync();
    const late: InformerEvent<TestObject>[] = [];
    informer.events$.subscribe((e) => late.push(e));
    server.create('c');
    await vi.waitFor(() => expect(late).toHaveLength(3));
    expect(summary(late)).toEqual(['added ns/a', 'added ns/b', 'added ns/c']);
  });

  it('drops managedFields before caching', async () => {
    const server = new FakeCollection();
    server.create('a');
    const { informer } = startInformer(server);
    await informer.waitForSync();
    server.create('b');
    await vi.waitFor(() => expect(informer.store.size).toBe(2));
    for (const obj of informer.store.list()) expect(obj.metadata.managedFields).toBeUndefined();
  });

  it('applies the resource transform after the default one', async () => {
    const server = new FakeCollection();
    server.create('a', 'secret');
    const trimmed: ResourceDefinition<TestObject> = {
      ...resource,
      transform: (o) => {
        delete o.data;
        return o;
      },
    };
    const informer = new Informer(trimmed, server);
    running.push(informer);
    informer.start();
    await informer.waitForSync();
    expect(informer.store.get('ns/a')).toEqual({
      metadata: { name: 'a', namespace: 'ns', resourceVersion: '2' },
    });
  });

  it('resumes a watch the server ended from the last resourceVersion, without relisting', async () => {
    const server = new FakeCollection();
    server.create('a');
    const { informer, events } = startInformer(server);
    await informer.waitForSync();
    server.create('b');
    await vi.waitFor(() => expect(informer.store.size).toBe(2));
    server.closeWatches();
    await vi.waitFor(() => expect(server.watchCalls).toHaveLength(2));
    expect(server.watchCalls[1]?.resourceVersion).toBe('3');
    server.create('c');
    await vi.waitFor(() => expect(informer.store.size).toBe(3));
    expect(server.listCalls).toHaveLength(1);
    expect(summary(events)).toEqual(['added ns/a', 'added ns/b', 'added ns/c']);
  });

  it('resumes from a bookmark’s resourceVersion', async () => {
    const server = new FakeCollection();
    server.create('a');
    const { informer } = startInformer(server);
    await informer.waitForSync();
    // Objects outside a selector advance the revision without events; simulate with a bookmark.
    server.revision = 40;
    server.bookmark();
    await vi.waitFor(() => expect(informer.lastSyncResourceVersion).toBe('40'));
    expect(informer.stats.bookmarks).toBe(1);
    server.closeWatches();
    await vi.waitFor(() => expect(server.watchCalls[1]?.resourceVersion).toBe('40'));
  });

  it('asks for a randomized watch timeout between min and twice min', async () => {
    const server = new FakeCollection();
    const a = startInformer(server, { random: () => 0, minWatchTimeoutSeconds: 300 });
    await a.informer.waitForSync();
    await vi.waitFor(() => expect(server.watchCalls).toHaveLength(1));
    const b = startInformer(server, { random: () => 0.999, minWatchTimeoutSeconds: 300 });
    await b.informer.waitForSync();
    await vi.waitFor(() => expect(server.watchCalls).toHaveLength(2));
    expect(server.watchCalls.map((c) => c.timeoutSeconds)).toEqual([300, 599]);
  });
});

describe('Informer after 410 Gone', () => {
  async function goneScenario(expire: (server: FakeCollection) => void) {
    const server = new FakeCollection();
    for (const name of ['keep', 'change', 'remove']) server.create(name, 'v1');
    const { informer, events } = startInformer(server);
    await informer.waitForSync();
    await vi.waitFor(() => expect(server.openWatches).toBe(1));
    server.bookmark(); // a watch that delivered something is not "closed at once"
    await vi.waitFor(() => expect(informer.stats.bookmarks).toBe(1));
    // Changes the informer does not see as events: the watch is silent, then history is compacted.
    server.silent = true;
    server.update('change', 'v2');
    server.delete('remove');
    server.create('new', 'v1');
    server.compact();
    events.length = 0;
    expire(server);
    await vi.waitFor(() => expect(informer.stats.expired).toBe(1));
    await vi.waitFor(() => expect(events).toHaveLength(3));
    expect(summary(events).sort()).toEqual([
      'added ns/new',
      'deleted ns/remove',
      'modified ns/change v1->v2',
    ]);
    storeMatchesServer(informer, server);
    expect(informer.lastSyncResourceVersion).toBe(String(server.revision));
    return { server, informer };
  }

  it('relists when a resumed watch gets 410, emitting deletes for objects that vanished', async () => {
    await goneScenario((server) => {
      server.breakWatches();
      server.resume();
    });
  });

  it('relists on a 410 ERROR event inside the stream', async () => {
    await goneScenario((server) => {
      server.errorWatches(410, 'Expired');
      server.silent = false;
      server.resume();
    });
  });

  it('starts the list again when a continue token expires mid-list', async () => {
    const server = new FakeCollection();
    for (const name of ['a', 'b', 'c']) server.create(name);
    // Tokens of revision 4 expire; by the time the list starts over, the snapshot is revision 5.
    server.continueExpiredBelow = 5;
    const list = server.list.bind(server);
    server.list = async (options) => {
      const page = await list(options);
      if (options.continue === undefined) server.create(`extra-${server.revision}`);
      return page;
    };
    const { informer } = startInformer(server);
    await informer.waitForSync();
    expect(server.listCalls.map((c) => c.continue)).toEqual([undefined, '4:2', undefined, '5:2', '5:4']);
    expect(informer.stats.errors).toBe(0);
    storeMatchesServer(informer, server);
  });
});

describe('Informer retries and the watchdog', () => {
  it('backs off exponentially with jitter between failed lists, then syncs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const server = new FakeCollection();
    server.create('a');
    const down = () => new TransportError('GET', '/x', new Error('ECONNREFUSED'));
    server.listFailures.push(down(), down(), down());
    const { informer } = startInformer(server, { random: () => 0.5 });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.listCalls).toHaveLength(1);
    // 800 ms · (1 + 0.5 jitter) = 1200 ms, then 2400, then 4800.
    await vi.advanceTimersByTimeAsync(1_199);
    expect(server.listCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.listCalls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2_400);
    expect(server.listCalls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(4_799);
    expect(server.listCalls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(informer.hasSynced).toBe(true);
    expect(informer.stats.errors).toBe(3);
  });

  it('retries a failed watch from the same resourceVersion after a backoff', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const server = new FakeCollection();
    server.create('a');
    server.watchFailures.push(new ApiError('WATCH', '/x', 500, 'InternalError', 'boom'));
    const { informer } = startInformer(server, { random: () => 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(informer.hasSynced).toBe(true);
    expect(server.watchCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(800);
    expect(server.watchCalls.map((c) => c.resourceVersion)).toEqual(['2', '2']);
    expect(server.listCalls).toHaveLength(1);
  });

  it('treats a watch that closes at once without events as a failure and backs off', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const server = new FakeCollection();
    const { informer } = startInformer(server, { random: () => 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.watchCalls).toHaveLength(1);
    server.closeWatches();
    await vi.advanceTimersByTimeAsync(0);
    expect(informer.stats.errors).toBe(1);
    expect(server.watchCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(800);
    expect(server.watchCalls).toHaveLength(2);
  });

  it('cuts a silent watch after the inactivity timeout and resumes it without relisting', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const server = new FakeCollection();
    server.create('a');
    const { informer, events } = startInformer(server, { inactivityTimeoutMs: 10_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.watchCalls).toHaveLength(1);
    // Activity (a bookmark at 6 s) pushes the deadline out to 16 s.
    await vi.advanceTimersByTimeAsync(6_000);
    server.bookmark();
    await vi.advanceTimersByTimeAsync(0);
    // Now the connection goes half-open: nothing arrives, though the server has news.
    server.silent = true;
    server.create('b');
    await vi.advanceTimersByTimeAsync(9_999);
    expect(informer.stats.stalls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(informer.stats.stalls).toBe(1);
    server.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(server.watchCalls.map((c) => c.resourceVersion)).toEqual(['2', '2']);
    expect(server.listCalls).toHaveLength(1);
    expect(summary(events)).toEqual(['added ns/a', 'added ns/b']);
  });

  it('stops cleanly while backing off', async () => {
    const server = new FakeCollection();
    server.listFailures.push(new TransportError('GET', '/x', new Error('down')));
    const { informer } = startInformer(server);
    await vi.waitFor(() => expect(informer.stats.errors).toBe(1));
    await informer.stop();
    running.length = 0;
    expect(server.listCalls).toHaveLength(1);
  });

  it('stops a running watch', async () => {
    const server = new FakeCollection();
    const { informer } = startInformer(server);
    await vi.waitFor(() => expect(server.openWatches).toBe(1));
    await informer.stop();
    running.length = 0;
    expect(server.openWatches).toBe(0);
  });
});
