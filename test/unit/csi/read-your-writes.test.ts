import { describe, expect, it } from 'vitest';
import { readYourWrites } from '../../../src/records/read-your-writes.ts';
import { FakeStore } from './fakes.ts';

interface Obj {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  tag: string;
}
const obj = (name: string, rv: string, tag: string): Obj => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  tag,
});
const byTag = { tag: (o: Obj) => [o.tag] };

describe('readYourWrites', () => {
  it('shows a write before the cache has it, by key, list and index', () => {
    const base = new FakeStore<Obj>(byTag);
    const view = readYourWrites(base, byTag);
    view.wrote(obj('a', '5', 'x'));
    expect(view.get('ns/a')?.tag).toBe('x');
    expect(view.list().map((o) => o.metadata.name)).toEqual(['a']);
    expect(view.byIndex('tag', 'x').map((o) => o.metadata.name)).toEqual(['a']);
    expect([...view.keys()]).toEqual(['ns/a']);
    expect(view.size).toBe(1);
  });

  it('prefers the cache once it holds the written version or a newer one', () => {
    const base = new FakeStore<Obj>(byTag);
    const view = readYourWrites(base, byTag);
    base.upsert(obj('a', '4', 'old'));
    view.wrote(obj('a', '5', 'mine'));
    expect(view.get('ns/a')?.tag).toBe('mine');
    expect(view.byIndex('tag', 'old')).toEqual([]);
    expect(view.byIndex('tag', 'mine').map((o) => o.tag)).toEqual(['mine']);
    base.upsert(obj('a', '7', 'newer'));
    expect(view.get('ns/a')?.tag).toBe('newer');
    expect(view.byIndex('tag', 'newer')).toHaveLength(1);
  });

  it('keeps the newest of writes that return out of order', () => {
    const view = readYourWrites(new FakeStore<Obj>(byTag), byTag);
    view.wrote(obj('a', '9', 'nine'));
    view.wrote(obj('a', '8', 'eight'));
    expect(view.get('ns/a')?.tag).toBe('nine');
  });

  it('hides a deleted object until the cache loses it', () => {
    const base = new FakeStore<Obj>(byTag);
    base.upsert(obj('a', '4', 'x'));
    const view = readYourWrites(base, byTag);
    view.deleted('ns/a', '4');
    expect(view.get('ns/a')).toBeUndefined();
    expect(view.list()).toEqual([]);
    expect(view.byIndex('tag', 'x')).toEqual([]);
    base.remove('ns/a');
    base.upsert(obj('a', '9', 'again'));
    expect(view.get('ns/a')?.tag).toBe('again');
  });

  it('forgets writes after the TTL: the cache is the truth again', () => {
    let now = 0;
    const base = new FakeStore<Obj>(byTag);
    const view = readYourWrites(base, byTag, { ttlMs: 1000, now: () => now });
    view.wrote(obj('a', '5', 'x'));
    now = 1500;
    expect(view.get('ns/a')).toBeUndefined();
  });

  it('refuses unknown indexes', () => {
    expect(() => readYourWrites(new FakeStore<Obj>(byTag), byTag).byIndex('nope', 'x')).toThrow(/nope/);
  });
});
