// Lease API calls, each bounded by a timeout on the injected clock. A failed call is logged and
// answers undefined: whatever failed, the elector keeps what it knew and tries again next round
// (a 409 is routine, a lost race or a stale view, so it is logged at debug only).
import type { Logger } from '../telemetry/logger.ts';
import type { Clock } from './clock.ts';
import { LeaseConflictError } from './lease-api.ts';

export type LeaseCall = <T>(what: string, fn: (signal: AbortSignal) => Promise<T>) => Promise<T | undefined>;

export function leaseCaller(clock: Clock, log: Logger, timeoutMs: number): LeaseCall {
  return async (what, fn) => {
    const abort = new AbortController();
    const timer = clock.after(timeoutMs, () =>
      abort.abort(new Error(`${what}: no answer in ${timeoutMs} ms`)),
    );
    try {
      return await fn(abort.signal);
    } catch (err) {
      const level = err instanceof LeaseConflictError ? 'debug' : 'warn';
      log[level]({ err: err instanceof Error ? err.message : String(err) }, `${what} failed`);
      return undefined;
    } finally {
      timer.cancel();
    }
  };
}
