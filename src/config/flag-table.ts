// The option table: every DriverConfig key with its flag, environment variable, config file key,
// parser, default and help (the rows are in flags-driver.ts and flags-pipeline.ts), and the
// aliases that let the seed's manifests run unchanged.
import { DRIVER_ROWS } from './flags-driver.ts';
import { PIPELINE_ROWS } from './flags-pipeline.ts';
import type { AliasSpec, AnyOption, ConfigKey, OptionRows } from './option-spec.ts';
import { integer, port } from './values.ts';

/** Typed as every key's row: a DriverConfig key missing here fails `tsc`. */
const TABLE: OptionRows<ConfigKey> = { ...DRIVER_ROWS, ...PIPELINE_ROWS };

export const OPTIONS: readonly AnyOption[] = Object.entries(TABLE).map(([key, row]) => ({ key, ...row }));

/** klog's verbosity: 4 and above is debugging output (what the seed's `--v=4` asks for). */
const KLOG_DEBUG_VERBOSITY = 4;

export const ALIASES: readonly AliasSpec[] = [
  {
    key: 'logLevel',
    flag: 'v',
    translate: (raw, source) => (integer(0, 10)(raw, source) >= KLOG_DEBUG_VERBOSITY ? 'debug' : 'info'),
    help: `klog verbosity 0-10 (the seed passes 4): ${KLOG_DEBUG_VERBOSITY} or more is debug, less is info`,
  },
  {
    key: 'leaderElectionNamespace',
    flag: 'leader-elect-namespace',
    translate: (raw) => raw,
    help: 'the same value',
  },
  {
    key: 'metricsBindAddress',
    env: 'METRICS_PORT',
    file: 'metrics.port',
    translate: (raw, source) => `:${port(raw, source)}`,
    help: 'a port 1-65535: :<port> on all interfaces',
  },
];

export function optionOf(key: ConfigKey): AnyOption {
  return OPTIONS.find((o) => o.key === key)!;
}

/** Every flag name argv may carry, and those that may stand alone (booleans). */
export const KNOWN_FLAGS = new Set([
  ...OPTIONS.map((o) => o.flag),
  ...ALIASES.flatMap((a) => (a.flag ? [a.flag] : [])),
]);
export const BOOLEAN_FLAGS = new Set(
  OPTIONS.filter((o) => typeof o.default === 'boolean').map((o) => o.flag),
);
/** List flags: `--x=a --x=b` is `--x=a,b`. */
export const REPEATABLE_FLAGS = new Set(OPTIONS.filter((o) => o.repeatable).map((o) => o.flag));
