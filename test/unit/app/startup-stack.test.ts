import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StartupStack } from '../../../src/app/startup-stack.ts';

const log = pino({ level: 'silent' });

describe('StartupStack', () => {
  it('stops the parts newest first, each once, and keeps stopping after one fails', async () => {
    const stack = new StartupStack(log);
    const stopped: string[] = [];
    stack.push('client', () => void stopped.push('client'));
    stack.push('informers', async () => {
      stopped.push('informers');
      throw new Error('watch close failed');
    });
    stack.push('buckets', async () => void stopped.push('buckets'));
    expect(stack.started).toEqual(['client', 'informers', 'buckets']);
    await stack.unwind(1_000);
    expect(stopped).toEqual(['buckets', 'informers', 'client']);
    expect(stack.started).toEqual([]);
    await stack.unwind(1_000);
    expect(stopped).toHaveLength(3);
  });

  it('gives each part what is left of one overall deadline', async () => {
    const stack = new StartupStack(log);
    const lefts: number[] = [];
    stack.push('older', (left) => void lefts.push(left()));
    stack.push('newer', (left) => void lefts.push(left()));
    await stack.unwind(5_000);
    expect(lefts[0]).toBeLessThanOrEqual(5_000);
    expect(lefts[1]).toBeLessThanOrEqual(lefts[0]!);
    expect(lefts[1]).toBeGreaterThan(0);
  });
});
