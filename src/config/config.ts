// Typed driver configuration from flags, a config file and the environment (seed §7 and its
// ConfigMap). Flags win over the file, the file over environment variables, and those over the
// defaults. Every value is range-checked here, once: the rest of the program never sees a
// malformed setting, and a bad one ends start-up with the usage and exit status 2 (main.ts).

import { parseArgv } from './argv.ts';
import { checkConsistency } from './checks.ts';
import { type ConfigFile, fileSource, readConfigFile } from './config-file.ts';
import { ConfigError, cut, type DriverConfig } from './driver-config.ts';
import { ALIASES, OPTIONS } from './flag-table.ts';
import { DEFAULT_CONFIG_FILE } from './flags-driver.ts';
import type { AliasSpec, AnyOption, ConfigKey } from './option-spec.ts';

export type {
  DiscoveryMethodName,
  DriverConfig,
  LogFormat,
  LogLevel,
  TraceExporterKind,
} from './driver-config.ts';
export { ConfigError, DISCOVERY_METHODS } from './driver-config.ts';
export { ALIASES, OPTIONS } from './flag-table.ts';
export { DEFAULT_CONFIG_FILE } from './flags-driver.ts';
export { usage } from './usage.ts';

/** One setting as given: where (a flag, variable or file key) and its text for the option's parser. */
interface Given {
  source: string;
  raw: string;
}

interface Sources {
  flags: Map<string, string>;
  file: ConfigFile | undefined;
  env: NodeJS.ProcessEnv;
}

/** Parses `--flag=value`, `--flag value` and bare boolean `--flag` over the file and the environment. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): DriverConfig {
  const sources: Sources = { flags: parseArgv(argv), file: undefined, env };
  const fileOption = OPTIONS.find((o) => o.key === 'configFile')!;
  const fileGiven = givenValue(fileOption, sources);
  const filePath = fileGiven ? (fileOption.parse(fileGiven.raw, fileGiven.source) as string) : undefined;
  sources.file = readConfigFile(filePath ?? DEFAULT_CONFIG_FILE, filePath === undefined);

  const config: Record<string, unknown> = {};
  const from = new Map<ConfigKey, string>();
  for (const option of OPTIONS) {
    const given = givenValue(option, sources);
    config[option.key] = given ? option.parse(given.raw, given.source) : option.default;
    from.set(option.key, given?.source ?? `the default of --${option.flag}`);
  }
  const result = config as unknown as DriverConfig;
  checkConsistency(result, (key) => from.get(key)!);
  return result;
}

/** An option's own names or an alias's: where its value may be given. */
type Names = Pick<AliasSpec, 'flag' | 'env' | 'file'> & { translate?: AliasSpec['translate'] };

/** The setting of the highest tier that has one: flags, then the file, then the environment. */
function givenValue(option: AnyOption, { flags, file, env }: Sources): Given | undefined {
  const all: Names[] = [{ flag: option.flag, env: option.env, file: option.file }];
  for (const alias of ALIASES) if (alias.key === option.key) all.push(alias);
  const tiers: ((n: Names) => Given | undefined)[] = [
    (n) => (n.flag && flags.has(n.flag) ? { source: `--${n.flag}`, raw: flags.get(n.flag)! } : undefined),
    (n) =>
      n.file && file?.values.has(n.file)
        ? { source: fileSource(n.file, file.path), raw: file.values.get(n.file)! }
        : undefined,
    // An empty variable is an unset one (a Deployment's `value: ""`).
    (n) => (n.env && env[n.env] ? { source: n.env, raw: env[n.env]! } : undefined),
  ];
  for (const tier of tiers) {
    const found = all.flatMap((names) => {
      const given = tier(names);
      return given ? [{ names, given }] : [];
    });
    const [first, second] = found;
    if (second) {
      throw new ConfigError(
        `${first!.given.source}=${cut(first!.given.raw)} and ${second.given.source}=${cut(second.given.raw)} both set --${option.flag}: give one of them`,
      );
    }
    if (first) {
      const { names, given } = first;
      return names.translate ? { ...given, raw: names.translate(given.raw, given.source) } : given;
    }
  }
  return undefined;
}
