// The shape of the option table: one row per DriverConfig key, typed by its key, so a key
// without a row (or a row whose parser or default has the wrong type) fails `tsc`.
import type { DriverConfig } from './driver-config.ts';
import type { ValueParser } from './values.ts';

export type ConfigKey = keyof DriverConfig;

export interface OptionSpec<K extends ConfigKey> {
  key: K;
  /** The flag without its dashes: `--<flag>=value`. */
  flag: string;
  env: string | undefined;
  /** Its key in the --config YAML file (a dotted path of the seed's ConfigMap), if it has one. */
  file?: string;
  parse: ValueParser<DriverConfig[K]>;
  default: DriverConfig[K];
  help: string;
  /** A comma-separated list: a repeated flag adds to it instead of replacing it. */
  repeatable?: boolean;
}

export type OptionRows<K extends ConfigKey> = { readonly [P in K]: Omit<OptionSpec<P>, 'key'> };

/** Another name of an option (the seed's spelling): its value becomes text the option parses. */
export interface AliasSpec {
  key: ConfigKey;
  flag?: string;
  env?: string;
  file?: string;
  translate: (raw: string, source: string) => string;
  help: string;
}

// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous list; each row is typed by its key.
export type AnyOption = OptionSpec<any>;
