import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, OPTIONS, usage } from '../../../src/config/config.ts';

describe('loadConfig', () => {
  it('gives the seed defaults when nothing is set', () => {
    const config = loadConfig([], {});
    expect(config).toMatchObject({
      driverName: 'etcd-snapshot-driver',
      csiEndpoint: 'unix:///var/lib/kubelet/plugins/etcd-snapshot-driver/csi.sock',
      kubeconfig: undefined,
      snapshotTimeoutSeconds: 300,
      storageClass: 'standard',
      etcdNamespace: 'default',
      metricsBindAddress: ':8080',
      logLevel: 'info',
      logFormat: 'json',
      leaderElect: false,
      jobBackoffLimit: 2,
      jobActiveDeadlineSeconds: 600,
    });
  });

  it('gives client-go lease timing, 6 buckets and OTLP tracing of 5 % by default', () => {
    const config = loadConfig([], {});
    expect(config).toMatchObject({
      leaderElectionBuckets: 6,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      traceExporter: 'otlp',
      traceSampleRatio: 0.05,
      deleteOrphanFiles: false,
      executorServiceAccount: 'etcd-snapshot-executor',
    });
    expect(config.leaderElectionNamespace).toBeUndefined();
    expect(config.snapshotClaimSize).toBeUndefined();
  });

  it('reads durations with units and refuses ones out of range, naming flag and value', () => {
    expect(loadConfig(['--leader-election-lease-duration=4s'], {}).leaseDurationMs).toBe(4000);
    expect(loadConfig(['--leader-election-retry-period=500ms'], {}).retryPeriodMs).toBe(500);
    expect(loadConfig([], { LEADER_ELECTION_RENEW_DEADLINE: '2.5' }).renewDeadlineMs).toBe(2500);
    expect(() => loadConfig(['--leader-election-retry-period=10ms'], {})).toThrow(
      /--leader-election-retry-period .*got "10ms"/,
    );
    expect(() => loadConfig(['--leader-election-lease-duration=soon'], {})).toThrow(/got "soon"/);
  });

  it('reads --import-from-store as a list, comma-separated or repeated, and refuses a bare name', () => {
    expect(loadConfig([], {}).importFromStore).toEqual([]);
    expect(loadConfig([], {}).importIntervalMs).toBe(300_000);
    expect(
      loadConfig(['--import-from-store=prod/store,dev/store', '--import-from-store', 'prod/other'], {})
        .importFromStore,
    ).toEqual(['prod/store', 'dev/store', 'prod/other']);
    expect(loadConfig([], { IMPORT_FROM_STORE: 'prod/store' }).importFromStore).toEqual(['prod/store']);
    expect(loadConfig(['--import-interval=30s'], {}).importIntervalMs).toBe(30_000);
    expect(() => loadConfig(['--import-from-store=store'], {})).toThrow(/<namespace>\/<secret>, got "store"/);
    // Other flags still take the last of their repeats.
    expect(loadConfig(['--workers=2', '--workers=3'], {}).workers).toBe(3);
  });

  it('checks quantities and ratios', () => {
    expect(loadConfig(['--snapshot-claim-size=20Gi'], {}).snapshotClaimSize).toBe('20Gi');
    expect(() => loadConfig(['--snapshot-claim-size=lots'], {})).toThrow(/--snapshot-claim-size .*"lots"/);
    expect(loadConfig(['--trace-sample-ratio=0.25'], {}).traceSampleRatio).toBe(0.25);
    expect(() => loadConfig(['--trace-sample-ratio=2'], {})).toThrow(/from 0 to 1, got "2"/);
    expect(() => loadConfig(['--trace-exporter=zipkin'], {})).toThrow(/otlp, jaeger, none/);
  });

  it('reads the environment, and a flag wins over its variable', () => {
    const env = { SNAPSHOT_TIMEOUT: '120', LOG_LEVEL: 'debug', LEADER_ELECT: 'true' };
    const config = loadConfig(['--snapshot-timeout=900'], env);
    expect(config.snapshotTimeoutSeconds).toBe(900);
    expect(config.logLevel).toBe('debug');
    expect(config.leaderElect).toBe(true);
  });

  it('accepts --flag value, --flag=value and a bare boolean flag', () => {
    const config = loadConfig(['--storage-class', 'fast', '--leader-elect', '--log-format=text'], {});
    expect(config.storageClass).toBe('fast');
    expect(config.leaderElect).toBe(true);
    expect(config.logFormat).toBe('text');
  });

  it('ignores an empty environment variable', () => {
    expect(loadConfig([], { STORAGE_CLASS: '' }).storageClass).toBe('standard');
  });

  it.each([
    [['--snapshot-timeout=59'], /--snapshot-timeout must be an integer from 60 to 3600, got "59"/],
    [['--snapshot-timeout=1.5'], /--snapshot-timeout must be an integer/],
    [['--log-level=trace'], /--log-level must be one of debug, info, warn, error, got "trace"/],
    [['--leader-elect=maybe'], /--leader-elect must be true or false, got "maybe"/],
    [['--bogus=1'], /unknown flag --bogus/],
    [['--storage-class'], /flag --storage-class needs a value/],
    [['positional'], /unexpected argument "positional"/],
  ])('rejects %j with a message naming the flag and the value', (argv, message) => {
    expect(() => loadConfig(argv, {})).toThrowError(ConfigError);
    expect(() => loadConfig(argv, {})).toThrowError(message);
  });

  it('names the environment variable when that is where a bad value came from', () => {
    expect(() => loadConfig([], { JOB_BACKOFF_LIMIT: 'x' })).toThrowError(
      /JOB_BACKOFF_LIMIT must be an integer/,
    );
  });

  it('lists every option with its variable in the usage text', () => {
    const text = usage();
    for (const option of OPTIONS) {
      expect(text).toContain(`--${option.flag}`);
      if (option.env) expect(text).toContain(option.env);
    }
  });
});
