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
  jobTtlSecondsAfterFinished: number;
  /** Namespace of the bucket Leases; the pod's own namespace (POD_NAMESPACE) when unset. */
  leaderElectionNamespace: string | undefined;
  leaderElectionBuckets: number;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** The image snapshot Jobs run (`etcd-snapshot-driver agent …`): the driver's own image. */
  agentImage: string;
  executorServiceAccount: string;
  /** Size of each etcd cluster's snapshot claim; derived from the database size when unset. */
  snapshotClaimSize: string | undefined;
  workers: number;
  traceExporter: TraceExporterKind;
  traceEndpoint: string | undefined;
  traceSampleRatio: number;
  deleteOrphanFiles: boolean;
  /** How often each snapshot claim is swept for directories no record owns (ms); 0 disables. */
  orphanSweepIntervalMs: number;
  /** Directories younger than this are never reported or removed by a sweep (ms). */
  orphanFileMinAgeMs: number;
  /** Delete records whose snapshot content is gone and whose deletion policy is unknown. */
  deleteOrphanRecords: boolean;
}

export type TraceExporterKind = 'otlp' | 'jaeger' | 'none';

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

/** A duration in milliseconds from "15s", "1500ms", "2m" or bare seconds ("15"). */
const duration =
  (minMs: number, maxMs: number) =>
  (raw: string, source: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
    const ms = m
      ? Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm']
      : NaN;
    if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
      throw new ConfigError(
        `${source} must be a duration from ${minMs / 1000}s to ${maxMs / 1000}s (e.g. 15s, 1500ms), got "${raw}"`,
      );
    }
    return Math.round(ms);
  };

const ratio = (raw: string, source: string): number => {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigError(`${source} must be a number from 0 to 1, got "${raw}"`);
  }
  return value;
};

/** A Kubernetes quantity of bytes such as 10Gi, 500M or 1073741824. */
const quantity = (raw: string, source: string): string => {
  if (!/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.test(raw.trim())) {
    throw new ConfigError(`${source} must be a quantity such as 10Gi, got "${raw}"`);
  }
  return raw.trim();
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
  {
    key: 'jobTtlSecondsAfterFinished',
    flag: 'job-ttl-after-finished',
    env: 'JOB_TTL_AFTER_FINISHED',
    parse: integer(0, 604_800),
    default: 3600,
    help: 'ttlSecondsAfterFinished of snapshot Jobs (their results are in the records by then)',
  },
  {
    key: 'leaderElectionNamespace',
    flag: 'leader-election-namespace',
    env: 'LEADER_ELECTION_NAMESPACE',
    parse: text(),
    default: undefined,
    help: 'Namespace of the Leases; the pod namespace (POD_NAMESPACE) when unset',
  },
  {
    key: 'leaderElectionBuckets',
    flag: 'leader-election-buckets',
    env: 'LEADER_ELECTION_BUCKETS',
    parse: integer(1, 64),
    default: 6,
    help: 'Number of ownership buckets (one Lease each); the same on every replica. 1 = classic leader election',
  },
  {
    key: 'leaseDurationMs',
    flag: 'leader-election-lease-duration',
    env: 'LEADER_ELECTION_LEASE_DURATION',
    parse: duration(1000, 600_000),
    default: 15_000,
    help: 'How long others wait after a Lease stopped changing before taking it over (whole seconds)',
  },
  {
    key: 'renewDeadlineMs',
    flag: 'leader-election-renew-deadline',
    env: 'LEADER_ELECTION_RENEW_DEADLINE',
    parse: duration(500, 600_000),
    default: 10_000,
    help: 'How long a holder keeps acting without a successful renewal',
  },
  {
    key: 'retryPeriodMs',
    flag: 'leader-election-retry-period',
    env: 'LEADER_ELECTION_RETRY_PERIOD',
    parse: duration(100, 60_000),
    default: 2_000,
    help: 'How often Leases are read and renewed',
  },
  {
    key: 'agentImage',
    flag: 'agent-image',
    env: 'AGENT_IMAGE',
    parse: text(),
    default: 'ghcr.io/etcd-snapshot-driver/etcd-snapshot-driver:latest',
    help: "Image of snapshot Jobs (the driver's own image: it holds the agent)",
  },
  {
    key: 'executorServiceAccount',
    flag: 'executor-service-account',
    env: 'EXECUTOR_SERVICE_ACCOUNT',
    parse: text(),
    default: 'etcd-snapshot-executor',
    help: "ServiceAccount snapshot Jobs run as, in the etcd cluster's namespace",
  },
  {
    key: 'snapshotClaimSize',
    flag: 'snapshot-claim-size',
    env: 'SNAPSHOT_CLAIM_SIZE',
    parse: quantity,
    default: undefined,
    help: "Size of each etcd cluster's snapshot claim; derived from the database size when unset",
  },
  {
    key: 'workers',
    flag: 'workers',
    env: 'WORKERS',
    parse: integer(1, 64),
    default: 4,
    help: 'Concurrent reconciles of snapshot records',
  },
  {
    key: 'traceExporter',
    flag: 'trace-exporter',
    env: 'TRACE_EXPORTER',
    parse: oneOf('otlp', 'jaeger', 'none'),
    default: 'otlp',
    help: 'Where spans go: otlp (OTEL_EXPORTER_OTLP_ENDPOINT), jaeger (the deprecated Jaeger exporter) or none',
  },
  {
    key: 'traceEndpoint',
    flag: 'trace-endpoint',
    env: 'TRACE_ENDPOINT',
    parse: text(),
    default: undefined,
    help: "The exporter's endpoint URL; the exporter's own default (or OTEL_* env) when unset",
  },
  {
    key: 'traceSampleRatio',
    flag: 'trace-sample-ratio',
    env: 'TRACE_SAMPLE_RATIO',
    parse: ratio,
    default: 0.05,
    help: 'Share of successful, fast operations whose traces are kept (errors and slow ones always are)',
  },
  {
    key: 'deleteOrphanFiles',
    flag: 'delete-orphan-files',
    env: 'DELETE_ORPHAN_FILES',
    parse: boolean,
    default: false,
    help: 'Delete snapshot files no record owns (otherwise they are only reported)',
  },
  {
    key: 'orphanSweepIntervalMs',
    flag: 'orphan-sweep-interval',
    env: 'ORPHAN_SWEEP_INTERVAL',
    parse: duration(0, 7 * 24 * 3_600_000),
    default: 3_600_000,
    help: 'How often each snapshot claim is listed for directories no record owns (0 disables the sweep)',
  },
  {
    key: 'orphanFileMinAgeMs',
    flag: 'orphan-file-min-age',
    env: 'ORPHAN_FILE_MIN_AGE',
    parse: duration(0, 7 * 24 * 3_600_000),
    default: 600_000,
    help: 'Snapshot directories younger than this are never reported or deleted by the sweep',
  },
  {
    key: 'deleteOrphanRecords',
    flag: 'delete-orphan-records',
    env: 'DELETE_ORPHAN_RECORDS',
    parse: boolean,
    default: false,
    help: 'Delete records (and files) whose snapshot content is gone when its deletion policy is unknown (otherwise they are only reported)',
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
