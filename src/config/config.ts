// Typed driver configuration from flags and environment (seed §7). A flag wins over its
// environment variable, which wins over the default. Every value is validated here, once, so
// the rest of the program never sees a malformed setting.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';

export interface DriverConfig {
  driverName: string;
  csiEndpoint: string;
  kubeconfig: string | undefined;
  snapshotTimeoutSeconds: number;
  storageClass: string;
  etcdNamespace: string;
  metricsBindAddress: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  leaderElect: boolean;
  jobBackoffLimit: number;
  jobActiveDeadlineSeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

interface OptionSpec<K extends keyof DriverConfig> {
  key: K;
  flag: string;
  env: string | undefined;
  parse: (raw: string, source: string) => DriverConfig[K];
  default: DriverConfig[K];
  help: string;
}

const text =
  (nonEmpty = true) =>
  (raw: string, source: string): string => {
    if (nonEmpty && raw.trim() === '') throw new ConfigError(`${source} must not be empty`);
    return raw;
  };

const integer =
  (min: number, max: number) =>
  (raw: string, source: string): number => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      throw new ConfigError(`${source} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };

const oneOf =
  <T extends string>(...allowed: T[]) =>
  (raw: string, source: string): T => {
    if (!(allowed as string[]).includes(raw)) {
      throw new ConfigError(`${source} must be one of ${allowed.join(', ')}, got "${raw}"`);
    }
    return raw as T;
  };

const boolean = (raw: string, source: string): boolean => {
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(`${source} must be true or false, got "${raw}"`);
};

// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous table; each row is typed by its key.
type AnyOption = OptionSpec<any>;

export const OPTIONS: readonly AnyOption[] = [
  {
    key: 'driverName',
    flag: 'driver-name',
    env: 'DRIVER_NAME',
    parse: text(),
    default: 'etcd-snapshot-driver',
    help: 'CSI driver name reported by GetPluginInfo and matched by StorageClasses and snapshot classes',
  },
  {
    key: 'csiEndpoint',
    flag: 'csi-endpoint',
    env: 'CSI_ENDPOINT',
    parse: text(),
    default: 'unix:///var/lib/kubelet/plugins/etcd-snapshot-driver/csi.sock',
    help: 'CSI gRPC endpoint (unix:///path or tcp://host:port)',
  },
  {
    key: 'kubeconfig',
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    parse: text(),
    default: undefined,
    help: 'Path to a kubeconfig; in-cluster configuration when unset',
  },
  {
    key: 'snapshotTimeoutSeconds',
    flag: 'snapshot-timeout',
    env: 'SNAPSHOT_TIMEOUT',
    parse: integer(60, 3600),
    default: 300,
    help: 'Default snapshot operation timeout in seconds',
  },
  {
    key: 'storageClass',
    flag: 'storage-class',
    env: 'STORAGE_CLASS',
    parse: text(),
    default: 'standard',
    help: 'Default storage class for snapshot PVCs',
  },
  {
    key: 'etcdNamespace',
    flag: 'etcd-namespace',
    env: 'ETCD_NAMESPACE',
    parse: text(),
    default: 'default',
    help: 'Default namespace for etcd discovery',
  },
  {
    key: 'metricsBindAddress',
    flag: 'metrics-bind-address',
    env: 'METRICS_BIND_ADDRESS',
    parse: text(),
    default: ':8080',
    help: 'Address of the metrics and health HTTP server ("0" disables it)',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'LOG_LEVEL',
    parse: oneOf('debug', 'info', 'warn', 'error'),
    default: 'info',
    help: 'Log level: debug, info, warn or error',
  },
  {
    key: 'logFormat',
    flag: 'log-format',
    env: 'LOG_FORMAT',
    parse: oneOf('json', 'text'),
    default: 'json',
    help: 'Log format: json (one object a line) or text',
  },
  {
    key: 'leaderElect',
    flag: 'leader-elect',
    env: 'LEADER_ELECT',
    parse: boolean,
    default: false,
    help: 'Take part in Lease-based leader election (required with more than one replica)',
  },
  {
    key: 'jobBackoffLimit',
    flag: 'job-backoff-limit',
    env: 'JOB_BACKOFF_LIMIT',
    parse: integer(0, 10),
    default: 2,
    help: 'backoffLimit of snapshot Jobs',
  },
  {
    key: 'jobActiveDeadlineSeconds',
    flag: 'job-active-deadline',
    env: 'JOB_ACTIVE_DEADLINE',
    parse: integer(60, 86_400),
    default: 600,
    help: 'activeDeadlineSeconds of snapshot Jobs',
  },
];

/** Parses `--flag=value`, `--flag value` and bare boolean `--flag` arguments over the environment. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): DriverConfig {
  const flags = parseFlags(argv);
  const config: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    const fromFlag = flags.get(option.flag);
    const fromEnv = option.env === undefined ? undefined : env[option.env];
    if (fromFlag !== undefined) {
      config[option.key] = option.parse(fromFlag, `--${option.flag}`);
    } else if (fromEnv !== undefined && fromEnv !== '') {
      config[option.key] = option.parse(fromEnv, option.env!);
    } else {
      config[option.key] = option.default;
    }
    flags.delete(option.flag);
  }
  const unknown = [...flags.keys()];
  if (unknown.length > 0) {
    throw new ConfigError(
      `unknown flag${unknown.length > 1 ? 's' : ''}: ${unknown.map((f) => `--${f}`).join(', ')}`,
    );
  }
  return config as unknown as DriverConfig;
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const known = new Set(OPTIONS.map((o) => o.flag));
  const booleanFlags = new Set(OPTIONS.filter((o) => typeof o.default === 'boolean').map((o) => o.flag));
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--'))
      throw new ConfigError(`unexpected argument "${arg}": flags look like --name=value`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      const name = arg.slice(2, eq);
      if (!known.has(name)) throw new ConfigError(`unknown flag --${name}`);
      flags.set(name, arg.slice(eq + 1));
      continue;
    }
    const name = arg.slice(2);
    if (!known.has(name)) throw new ConfigError(`unknown flag --${name}`);
    const next = argv[i + 1];
    if (booleanFlags.has(name) && (next === undefined || next.startsWith('--'))) {
      flags.set(name, 'true');
    } else if (next === undefined) {
      throw new ConfigError(`flag --${name} needs a value`);
    } else {
      flags.set(name, next);
      i++;
    }
  }
  return flags;
}

export function usage(): string {
  const rows = OPTIONS.map(
    (o) =>
      `  --${o.flag}${o.env ? ` (${o.env})` : ''}\n      ${o.help}${o.default === undefined ? '' : ` [default: ${String(o.default)}]`}`,
  );
  return `Usage: etcd-snapshot-driver [flags]\n\nFlags:\n${rows.join('\n')}\n`;
}
