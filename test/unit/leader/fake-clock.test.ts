// The fake clock the elector unit tests run on: if it ran timers out of order, or before the
// promise chains of earlier ones settled, those tests would test the clock instead of the elector.
import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.ts';

describe('FakeClock', () => {
  it('runs due timers in time order, each after the promise chains of the previous one settled', async () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    clock.after(20, () => seen.push(`b@${clock.now()}`));
    clock.after(10, () => {
      seen.push(`a@${clock.now()}`);
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => seen.push('a settled'));
    });
    clock.after(30, () => seen.push('late')).cancel();
    clock.after(31, () => seen.push('not yet'));
    await clock.advance(30);
    expect(seen).toEqual(['a@10', 'a settled', 'b@20']);
    expect(clock.now()).toBe(30);
  });

  it('lets now() drift from the timers, and jump without running them', async () => {
    const clock = new FakeClock({ nowRate: 0.5, epochMs: 1_000 });
    let firedAt: number | undefined;
    clock.after(100, () => {
      firedAt = clock.now();
    });
    await clock.advance(100);
    expect(firedAt).toBe(50);
    clock.after(10, () => {
      firedAt = -1;
    });
    clock.jump(1_000);
    expect(clock.now()).toBe(1_050);
    expect(clock.date().getTime()).toBe(2_050);
    expect(firedAt).toBe(50);
  });
});
