// The driver's typed configuration: what the rest of the program reads. Every value here has
// been range-checked by src/config (values.ts, checks.ts), so no consumer validates it again.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
export type TraceExporterKind = 'otlp' | 'jaeger' | 'none';

/**
 * The ways discovery may find an etcd cluster (the seed's `label`, `annotation`, `statefulset`
 * and the driver's own `etcd-druid`); src/etcd/discovery.ts tries the allowed ones in its order.
 */
export const DISCOVERY_METHODS = ['annotation', 'etcd-druid', 'label', 'statefulset'] as const;
export type DiscoveryMethodName = (typeof DISCOVERY_METHODS)[number];

export interface DriverConfig {
  /** The YAML file read under the flags (the seed's ConfigMap keys); unset: the default path if present. */
  configFile: string | undefined;
  driverName: string;
  csiEndpoint: string;
  /** How long start-up keeps trying to listen on the CSI endpoint while it is held (ms); 0: once. */
  csiListenTimeoutMs: number;
  kubeconfig: string | undefined;
  snapshotTimeoutSeconds: number;
  storageClass: string;
  /** Default store Secret of off-cluster copies (docs/object-store.md); unset: none. */
  objectStoreSecret: string | undefined;
  etcdNamespace: string;
  /** The discovery methods allowed, in no particular order. */
  discoveryMethods: readonly DiscoveryMethodName[];
  metricsBindAddress: string;
  /** false: the HTTP server keeps /healthz and /ready but does not serve /metrics. */
  metricsEnabled: boolean;
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
  /** How often a Ready record's remote copy is verified in its store (ms); 0 disables. */
  remoteVerifyIntervalMs: number;
  /** Directories younger than this are never reported or removed by a sweep (ms). */
  orphanFileMinAgeMs: number;
  /** Delete records whose snapshot content is gone and whose deletion policy is unknown. */
  deleteOrphanRecords: boolean;
  /** Store Secrets (`<namespace>/<secret>`) whose copies are imported as records (docs/object-store.md). */
  importFromStore: readonly string[];
  /** How often each of them is listed again (ms). */
  importIntervalMs: number;
  /** Accept 6-field (seconds) cron expressions in schedules: for tests only. */
  scheduleSecondsForTests: boolean;
  /** Runs a schedule deletes per cluster per reconcile. */
  scheduleRetentionBatch: number;
}

/** A setting that cannot be used: main.ts prints it with the usage and exits 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Text as it appears in an error: long text is cut, so a message stays one readable line. */
export function cut(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A value quoted in an error (cut to a bounded length). */
export function shown(raw: unknown): string {
  return JSON.stringify(cut(typeof raw === 'string' ? raw : (JSON.stringify(raw) ?? String(raw))));
}
