// Rows of the option table for the work the driver does: bucket Lease election, snapshot Jobs,
// and orphans and retention. docs/configuration.md lists every row.
import type { ConfigKey, OptionRows } from './option-spec.ts';
import { boolean, dnsLabel, dnsSubdomain, duration, integer, matching, quantity } from './values.ts';

const WEEK_MS = 7 * 24 * 3_600_000;

export const PIPELINE_ROWS = {
  leaderElect: {
    flag: 'leader-elect',
    env: 'LEADER_ELECT',
    parse: boolean,
    default: false,
    help: 'Take part in Lease-based leader election (required with more than one replica)',
  },
  leaderElectionNamespace: {
    flag: 'leader-election-namespace',
    env: 'LEADER_ELECTION_NAMESPACE',
    parse: dnsLabel,
    default: undefined,
    help: 'Namespace of the Leases; the pod namespace (POD_NAMESPACE) when unset',
  },
  leaderElectionBuckets: {
    flag: 'leader-election-buckets',
    env: 'LEADER_ELECTION_BUCKETS',
    parse: integer(1, 64),
    default: 6,
    help: 'Number of ownership buckets (one Lease each); the same on every replica. 1 = classic leader election',
  },
  leaseDurationMs: {
    flag: 'leader-election-lease-duration',
    env: 'LEADER_ELECTION_LEASE_DURATION',
    // A Lease says its duration in whole seconds; others judge expiry by that number.
    parse: duration(1000, 600_000, { wholeSeconds: true }),
    default: 15_000,
    help: 'How long others wait after a Lease stopped changing before taking it over (whole seconds)',
  },
  renewDeadlineMs: {
    flag: 'leader-election-renew-deadline',
    env: 'LEADER_ELECTION_RENEW_DEADLINE',
    parse: duration(500, 600_000),
    default: 10_000,
    help: 'How long a holder keeps acting without a successful renewal (less than the lease duration)',
  },
  retryPeriodMs: {
    flag: 'leader-election-retry-period',
    env: 'LEADER_ELECTION_RETRY_PERIOD',
    parse: duration(100, 60_000),
    default: 2_000,
    help: 'How often Leases are read and renewed (less than the renew deadline / 1.2)',
  },
  agentImage: {
    flag: 'agent-image',
    env: 'AGENT_IMAGE',
    parse: matching(/^\S+$/, 'an image reference (no spaces)', 1024),
    default: 'ghcr.io/etcd-snapshot-driver/etcd-snapshot-driver:latest',
    help: "Image of snapshot Jobs (the driver's own image: it holds the agent)",
  },
  executorServiceAccount: {
    flag: 'executor-service-account',
    env: 'EXECUTOR_SERVICE_ACCOUNT',
    parse: dnsSubdomain,
    default: 'etcd-snapshot-executor',
    help: "ServiceAccount snapshot Jobs run as, in the etcd cluster's namespace",
  },
  jobBackoffLimit: {
    flag: 'job-backoff-limit',
    env: 'JOB_BACKOFF_LIMIT',
    parse: integer(0, 10),
    default: 2,
    help: 'backoffLimit of snapshot Jobs',
  },
  jobActiveDeadlineSeconds: {
    flag: 'job-active-deadline',
    env: 'JOB_ACTIVE_DEADLINE',
    parse: integer(60, 86_400),
    default: 600,
    help: 'activeDeadlineSeconds of snapshot Jobs',
  },
  jobTtlSecondsAfterFinished: {
    flag: 'job-ttl-after-finished',
    env: 'JOB_TTL_AFTER_FINISHED',
    parse: integer(0, 604_800),
    default: 3600,
    help: 'ttlSecondsAfterFinished of snapshot Jobs (their results are in the records by then)',
  },
  snapshotClaimSize: {
    flag: 'snapshot-claim-size',
    env: 'SNAPSHOT_CLAIM_SIZE',
    parse: quantity,
    default: undefined,
    help: "Size of each etcd cluster's snapshot claim; derived from the database size when unset",
  },
  workers: {
    flag: 'workers',
    env: 'WORKERS',
    parse: integer(1, 64),
    default: 4,
    help: 'Concurrent reconciles of snapshot records',
  },
  deleteOrphanFiles: {
    flag: 'delete-orphan-files',
    env: 'DELETE_ORPHAN_FILES',
    parse: boolean,
    default: false,
    help: 'Delete snapshot files no record owns (otherwise they are only reported)',
  },
  orphanSweepIntervalMs: {
    flag: 'orphan-sweep-interval',
    env: 'ORPHAN_SWEEP_INTERVAL',
    parse: duration(0, WEEK_MS),
    default: 3_600_000,
    help: 'How often each snapshot claim is listed for directories no record owns (0 disables the sweep)',
  },
  orphanFileMinAgeMs: {
    flag: 'orphan-file-min-age',
    env: 'ORPHAN_FILE_MIN_AGE',
    parse: duration(0, WEEK_MS),
    default: 600_000,
    help: 'Snapshot directories younger than this are never reported or deleted by the sweep',
  },
  deleteOrphanRecords: {
    flag: 'delete-orphan-records',
    env: 'DELETE_ORPHAN_RECORDS',
    parse: boolean,
    default: false,
    help: 'Delete records (and files) whose snapshot content is gone when its deletion policy is unknown (otherwise they are only reported)',
  },
  scheduleSecondsForTests: {
    flag: 'schedule-seconds-for-tests',
    env: 'SCHEDULE_SECONDS_FOR_TESTS',
    parse: boolean,
    default: false,
    help: 'FOR TESTS ONLY: accept 6-field cron expressions (seconds) in EtcdSnapshotSchedules, so e2e runs come quickly',
  },
  scheduleRetentionBatch: {
    flag: 'schedule-retention-batch',
    env: 'SCHEDULE_RETENTION_BATCH',
    parse: integer(1, 1000),
    default: 10,
    help: 'At most this many runs a schedule deletes per cluster per reconcile (the rest follow a second later)',
  },
} satisfies Partial<OptionRows<ConfigKey>>;
