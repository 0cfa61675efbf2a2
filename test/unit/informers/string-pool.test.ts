import { describe, expect, it } from 'vitest';
import { StringPool } from '../../../src/informers/string-pool.ts';

// Which copy of a string is kept is not observable from JavaScript (strings compare by value);
// the memory it saves is measured by bench/informer-memory.ts. What is tested here is the bound.
describe('StringPool', () => {
  it('keeps one entry per distinct string, and none for undefined', () => {
    const pool = new StringPool(4);
    expect(pool.intern('CompletionsReached')).toBe('CompletionsReached');
    expect(pool.intern(JSON.parse('"CompletionsReached"') as string)).toBe('CompletionsReached');
    expect(pool.intern(undefined)).toBeUndefined();
    expect(pool.size).toBe(1);
  });

  it('stops growing at its capacity and still returns every string unchanged', () => {
    const pool = new StringPool(2);
    for (const s of ['a', 'b', 'c', 'd']) expect(pool.intern(s)).toBe(s);
    expect(pool.size).toBe(2);
  });
});
