// Lease timing with client-go's defaults and validation (tools/leaderelection):
//
//   LeaseDuration  how long others wait, from the moment THEY last saw the Lease change, before
//                  they may take it over;
//   RenewDeadline  how long the holder keeps acting since its last successful renewal was SENT;
//   RetryPeriod    how often everyone reads and writes Leases.
//
// LD > RD leaves LD − RD for clock-rate differences and the last in-flight writes; RD > 1.2·RP
// (client-go's JitterFactor) guarantees several renew attempts before the deadline.

export interface LeaseTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** client-go's JitterFactor. */
export const JITTER_FACTOR = 1.2;

export class LeaderConfigError extends Error {
  override name = 'LeaderConfigError';
}

export function validateTiming(partial: Partial<LeaseTiming> = {}): LeaseTiming {
  const timing = { ...DEFAULT_LEASE_TIMING, ...partial };
  const { leaseDurationMs: ld, renewDeadlineMs: rd, retryPeriodMs: rp } = timing;
  for (const [name, value] of Object.entries(timing)) {
    if (!Number.isFinite(value) || value <= 0)
      throw new LeaderConfigError(`${name} must be positive, got ${value}`);
  }
  if (ld <= rd)
    throw new LeaderConfigError(`leaseDuration (${ld} ms) must be greater than renewDeadline (${rd} ms)`);
  if (rd <= JITTER_FACTOR * rp) {
    throw new LeaderConfigError(
      `renewDeadline (${rd} ms) must be greater than ${JITTER_FACTOR} × retryPeriod (${rp} ms)`,
    );
  }
  // Lease.spec.leaseDurationSeconds is an integer: others judge expiry by it.
  if (ld % 1000 !== 0) throw new LeaderConfigError(`leaseDuration must be whole seconds, got ${ld} ms`);
  return timing;
}
