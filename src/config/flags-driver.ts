// Rows of the option table for the driver process itself: its config file, CSI endpoint,
// Kubernetes access, discovery defaults, HTTP server, logs and traces (seed §7 and the seed's
// ConfigMap). docs/configuration.md lists every row.
import { DISCOVERY_METHODS } from './driver-config.ts';
import type { ConfigKey, OptionRows } from './option-spec.ts';
import {
  bindAddress,
  boolean,
  csiEndpoint,
  dnsLabel,
  dnsSubdomain,
  duration,
  httpUrl,
  integer,
  listOf,
  matching,
  oneOf,
  ratio,
  text,
} from './values.ts';

/** Read when --config is not given and a file is there: where the seed's Deployment mounts its ConfigMap. */
export const DEFAULT_CONFIG_FILE = '/etc/etcd-snapshot-driver/config.yaml';

export const DRIVER_ROWS = {
  configFile: {
    flag: 'config',
    env: 'CONFIG_FILE',
    parse: text(),
    default: undefined,
    help: `YAML file with the seed ConfigMap's keys, under flags and over environment variables; ${DEFAULT_CONFIG_FILE} when unset and present`,
  },
  driverName: {
    flag: 'driver-name',
    env: 'DRIVER_NAME',
    parse: matching(
      /^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$/,
      'a CSI driver name (letters, digits, "-", "."; at most 63)',
      63,
    ),
    default: 'etcd-snapshot-driver',
    help: 'CSI driver name reported by GetPluginInfo and matched by StorageClasses and snapshot classes',
  },
  csiEndpoint: {
    flag: 'csi-endpoint',
    env: 'CSI_ENDPOINT',
    parse: csiEndpoint,
    default: 'unix:///var/lib/kubelet/plugins/etcd-snapshot-driver/csi.sock',
    help: 'CSI gRPC endpoint (unix:///path or tcp://host:port)',
  },
  csiListenTimeoutMs: {
    flag: 'csi-listen-timeout',
    env: 'CSI_LISTEN_TIMEOUT',
    parse: duration(0, 600_000),
    default: 30_000,
    help: 'How long start-up retries listening on the CSI endpoint while another process still holds it (0: try once)',
  },
  kubeconfig: {
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    parse: text(),
    default: undefined,
    help: 'Path to a kubeconfig; in-cluster configuration when unset',
  },
  snapshotTimeoutSeconds: {
    flag: 'snapshot-timeout',
    env: 'SNAPSHOT_TIMEOUT',
    file: 'snapshot_timeout',
    parse: integer(60, 3600),
    default: 300,
    help: 'Default snapshot operation timeout in seconds',
  },
  storageClass: {
    flag: 'storage-class',
    env: 'STORAGE_CLASS',
    file: 'storage_class',
    parse: dnsSubdomain,
    default: 'standard',
    help: 'Default storage class for snapshot PVCs',
  },
  etcdNamespace: {
    flag: 'etcd-namespace',
    env: 'ETCD_NAMESPACE',
    parse: dnsLabel,
    default: 'default',
    help: 'Default namespace for etcd discovery',
  },
  discoveryMethods: {
    flag: 'etcd-discovery-method',
    env: 'ETCD_DISCOVERY_METHOD',
    file: 'discovery.methods',
    parse: listOf(...DISCOVERY_METHODS),
    default: DISCOVERY_METHODS,
    help: `How etcd clusters may be found, comma-separated: ${DISCOVERY_METHODS.join(', ')} (tried in the driver's fixed order)`,
  },
  metricsBindAddress: {
    flag: 'metrics-bind-address',
    env: 'METRICS_BIND_ADDRESS',
    parse: bindAddress,
    default: ':8080',
    help: 'Address of the metrics and health HTTP server ("0" disables it)',
  },
  metricsEnabled: {
    flag: 'metrics-enabled',
    env: 'METRICS_ENABLED',
    file: 'metrics.enabled',
    parse: boolean,
    default: true,
    help: 'Serve /metrics (false: the HTTP server keeps only /healthz and /ready)',
  },
  logLevel: {
    flag: 'log-level',
    env: 'LOG_LEVEL',
    file: 'logging.level',
    parse: oneOf('debug', 'info', 'warn', 'error'),
    default: 'info',
    help: 'Log level: debug, info, warn or error',
  },
  logFormat: {
    flag: 'log-format',
    env: 'LOG_FORMAT',
    file: 'logging.format',
    parse: oneOf('json', 'text'),
    default: 'json',
    help: 'Log format: json (one object a line) or text',
  },
  traceExporter: {
    flag: 'trace-exporter',
    env: 'TRACE_EXPORTER',
    parse: oneOf('otlp', 'jaeger', 'none'),
    default: 'otlp',
    help: 'Where spans go: otlp (OTEL_EXPORTER_OTLP_ENDPOINT), jaeger (the deprecated Jaeger exporter) or none',
  },
  traceEndpoint: {
    flag: 'trace-endpoint',
    env: 'TRACE_ENDPOINT',
    parse: httpUrl,
    default: undefined,
    help: "The exporter's endpoint URL; the exporter's own default (or OTEL_* env) when unset",
  },
  traceSampleRatio: {
    flag: 'trace-sample-ratio',
    env: 'TRACE_SAMPLE_RATIO',
    parse: ratio,
    default: 0.05,
    help: 'Share of successful, fast operations whose traces are kept (errors and slow ones always are)',
  },
} satisfies Partial<OptionRows<ConfigKey>>;
