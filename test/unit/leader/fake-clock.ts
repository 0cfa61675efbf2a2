// A Clock that moves only when told to. advance() runs the timers that fall due, in order, and
// lets every promise chain they start settle before the next one runs, so code that awaits
// in-memory fakes between timers behaves as it would in real time, minus the waiting.
//
// Two knobs model what real clocks do to the elector: `nowRate` makes now() run slower or faster
// than the timers (the event loop's timer clock and performance.now() drift apart), and jump()
// moves now() without running any timer (a timer that is late).
import { setImmediate } from 'node:timers/promises';
import type { Clock, Timer } from '../../../src/leader/clock.ts';

interface Pending {
  due: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  /** Time of the timers: how far advance() has gone. */
  #timerTime = 0;
  #jumped = 0;
  #seq = 0;
  readonly #pending = new Set<Pending>();
  readonly #epochMs: number;
  readonly #nowRate: number;

  constructor(options: { epochMs?: number; nowRate?: number } = {}) {
    this.#epochMs = options.epochMs ?? Date.UTC(2026, 0, 1);
    this.#nowRate = options.nowRate ?? 1;
  }

  now(): number {
    return this.#timerTime * this.#nowRate + this.#jumped;
  }

  date(): Date {
    return new Date(this.#epochMs + this.now());
  }

  /** As Node does, a delay under 1 ms is 1 ms. */
  after(ms: number, fn: () => void): Timer {
    const timer: Pending = { due: this.#timerTime + Math.max(1, ms), seq: this.#seq++, fn };
    this.#pending.add(timer);
    return { cancel: () => this.#pending.delete(timer) };
  }

  /** Moves time on by ms, running every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const until = this.#timerTime + ms;
    for (;;) {
      await settle();
      const next = this.#next(until);
      if (next === undefined) break;
      this.#pending.delete(next);
      this.#timerTime = next.due;
      next.fn();
    }
    this.#timerTime = until;
    await settle();
  }

  /** Moves now() and date() on by ms without running any timer. */
  jump(ms: number): void {
    this.#jumped += ms;
  }

  #next(until: number): Pending | undefined {
    let next: Pending | undefined;
    for (const t of this.#pending) {
      if (t.due > until) continue;
      if (next === undefined || t.due < next.due || (t.due === next.due && t.seq < next.seq)) next = t;
    }
    return next;
  }
}

/** Returns once every promise chain that can run without a timer or I/O has run. */
function settle(): Promise<void> {
  return setImmediate();
}
