// Time as the elector sees it, injectable like client-go's k8s.io/utils/clock: a monotonic now()
// that deadlines and observations are measured by, the wall-clock date written into (and read
// from) Lease renewTime, and one-shot timers. Unit tests drive a fake one instead of waiting.

/** A pending timer; cancel() is a no-op once it ran. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (performance.now() for the real clock). */
  now(): number;
  /** Wall-clock time: only for what other machines read (renewTime) or wrote. */
  date(): Date;
  /** Calls fn once, after ms of the event loop's timer clock (which may lag now()). */
  after(ms: number, fn: () => void): Timer;
}

export const realClock: Clock = {
  now: () => performance.now(),
  date: () => new Date(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(timer) };
  },
};

/** Whether `promise` settles within `ms` of the clock's timers (it is not cancelled either way). */
export async function settlesWithin(promise: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  let timer: Timer | undefined;
  try {
    return await Promise.race([
      promise.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = clock.after(ms, () => resolve(false));
      }),
    ]);
  } finally {
    timer?.cancel();
  }
}
