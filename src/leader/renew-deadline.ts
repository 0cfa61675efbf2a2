// How long a holder may act on a bucket: until `sentAt + RenewDeadline`, sentAt being when it
// SENT the last renewal that succeeded (see bucket-lease.ts for why that is safe). A timer
// announces the moment; owners also ask the clock directly, in case that timer runs late.
import type { Clock, Timer } from './clock.ts';

export class RenewDeadline {
  readonly #clock: Clock;
  readonly #renewDeadlineMs: number;
  readonly #onPassed: () => void;
  /** Valid while clock.now() < validUntil. */
  #validUntil = 0;
  #timer: Timer | undefined;

  constructor(clock: Clock, renewDeadlineMs: number, onPassed: () => void) {
    this.#clock = clock;
    this.#renewDeadlineMs = renewDeadlineMs;
    this.#onPassed = onPassed;
  }

  validAt(now: number): boolean {
    return now < this.#validUntil;
  }

  /** A renewal sent at `sentAt` succeeded: valid until RenewDeadline after it. */
  extend(sentAt: number): void {
    this.#validUntil = sentAt + this.#renewDeadlineMs;
    this.#arm();
  }

  /** No longer valid, and no announcement to come. */
  clear(): void {
    this.#validUntil = 0;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /**
   * Timers run on the event loop's coarser clock, which may lag now(), so the timer can fire a
   * little early: it then re-arms for the rest instead of giving up (which would leave
   * consumers unaware of the loss).
   */
  #arm(): void {
    this.#timer?.cancel();
    this.#timer = this.#clock.after(Math.max(0, this.#validUntil - this.#clock.now()), () => {
      this.#timer = undefined;
      if (this.#clock.now() >= this.#validUntil) this.#onPassed();
      else this.#arm();
    });
  }
}
