// Start-up as a stack of what it took. Each step that starts something pushes how to stop it;
// stopping pops them newest first — at the end of the process, and also when start-up is aborted
// (a SIGTERM) or fails half-way, so whatever had started stops and what was taken (bucket Leases,
// sockets, watches) is given back instead of running on until SIGKILL.
import type { Logger } from '../telemetry/logger.ts';

/** Stops one part; `leftMs` is what remains of the overall deadline. */
export type StopPart = (leftMs: () => number) => Promise<void> | void;

export class StartupStack {
  readonly #parts: { name: string; stop: StopPart }[] = [];
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Records how to stop what a step just started. */
  push(name: string, stop: StopPart): void {
    this.#parts.push({ name, stop });
  }

  /** The parts started so far, oldest first. */
  get started(): string[] {
    return this.#parts.map((p) => p.name);
  }

  /**
   * Stops every part pushed, newest first, within `deadlineMs` overall. A part whose stop fails
   * is logged and the older ones are still stopped: one broken part must not keep the rest alive.
   */
  async unwind(deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    const left = () => Math.max(0, until - Date.now());
    for (let part = this.#parts.pop(); part !== undefined; part = this.#parts.pop()) {
      try {
        await part.stop(left);
      } catch (err) {
        this.#log.error({ err, part: part.name }, 'stopping a part of the driver failed');
      }
    }
  }
}
