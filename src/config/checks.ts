// Checks between settings, after each one passed its own range: the bucket Lease timing must
// leave room for clock-rate differences and for several renewals before the deadline (client-go's
// rules, which src/leader/timing.ts also holds to). Only with --leader-elect: without it the
// timing is never used.
import { ConfigError, type DriverConfig } from './driver-config.ts';
import type { ConfigKey } from './option-spec.ts';

/** client-go's JitterFactor: the renew deadline must exceed this many retry periods. */
const RENEWALS_PER_DEADLINE = 1.2;

/** `nameOf(key)` names where a setting came from: its flag, variable, file key or default. */
export function checkConsistency(config: DriverConfig, nameOf: (key: ConfigKey) => string): void {
  if (!config.leaderElect) return;
  const describe = (key: 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs') =>
    `${nameOf(key)} (${config[key] / 1000}s)`;
  if (config.leaseDurationMs <= config.renewDeadlineMs) {
    throw new ConfigError(
      `${describe('leaseDurationMs')} must be longer than ${describe('renewDeadlineMs')}: others could take a Lease over while its holder still acts`,
    );
  }
  if (config.renewDeadlineMs <= RENEWALS_PER_DEADLINE * config.retryPeriodMs) {
    throw new ConfigError(
      `${describe('renewDeadlineMs')} must be longer than ${RENEWALS_PER_DEADLINE} × ${describe('retryPeriodMs')}: a holder needs more than one renewal attempt before its deadline`,
    );
  }
}
