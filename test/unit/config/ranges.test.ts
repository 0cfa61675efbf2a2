// Every setting's range is checked in src/config, once: a bad value is a ConfigError naming
// where it came from and what it was (main.ts prints it with the usage and exits 2), never a
// stack trace from whichever part first uses it.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.ts';

const refused = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  try {
    loadConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
};

describe('ranges', () => {
  it('refuses a Lease duration that is not whole seconds (a Lease stores whole seconds)', () => {
    expect(refused(['--leader-election-lease-duration=1500ms'])).toMatch(
      /^--leader-election-lease-duration must be a duration of whole seconds from 1s to 600s .*got "1500ms"$/,
    );
    expect(loadConfig(['--leader-election-lease-duration=2s'], {}).leaseDurationMs).toBe(2000);
  });

  it('with --leader-elect, refuses timing the elector cannot work with, naming both settings', () => {
    expect(
      refused(['--leader-elect', '--leader-election-lease-duration=4s', '--leader-election-namespace=ns']),
    ).toBe(
      '--leader-election-lease-duration (4s) must be longer than the default of --leader-election-renew-deadline (10s): others could take a Lease over while its holder still acts',
    );
    expect(
      refused(['--leader-elect', '--leader-election-renew-deadline=2s'], {
        LEADER_ELECTION_RETRY_PERIOD: '2s',
      }),
    ).toMatch(
      /^--leader-election-renew-deadline \(2s\) must be longer than 1.2 × LEADER_ELECTION_RETRY_PERIOD \(2s\)/,
    );
    // Without leader election the timing is never used, so it is not judged together.
    expect(loadConfig(['--leader-election-lease-duration=4s'], {}).leaseDurationMs).toBe(4000);
    // What the process tests run with.
    expect(
      loadConfig(
        [
          '--leader-elect',
          '--leader-election-lease-duration=4s',
          '--leader-election-renew-deadline=2500ms',
          '--leader-election-retry-period=1s',
        ],
        {},
      ).renewDeadlineMs,
    ).toBe(2500);
  });

  // These were the pipeline's and the retention controller's own checks, now made once here.
  it.each([
    [['--job-backoff-limit=-1'], '--job-backoff-limit must be an integer from 0 to 10, got "-1"'],
    [['--agent-image='], '--agent-image must be an image reference (no spaces), got ""'],
    [['--agent-image=a b'], '--agent-image must be an image reference (no spaces), got "a b"'],
    [['--executor-service-account=Not_A_Name'], '--executor-service-account must be a DNS-1123 subdomain'],
    [['--storage-class='], '--storage-class must be a DNS-1123 subdomain'],
    [['--trace-endpoint=collector:4318'], '--trace-endpoint must be an http(s) URL, got "collector:4318"'],
    [['--orphan-sweep-interval=-1'], '--orphan-sweep-interval must be a duration'],
    [['--workers=0'], '--workers must be an integer from 1 to 64, got "0"'],
  ])('refuses %j', (argv, message) => {
    expect(refused(argv)).toContain(message);
  });

  it.each([
    [
      ['--metrics-bind-address=8080'],
      '--metrics-bind-address must be host:port, :port, [v6]:port or 0 (off)',
    ],
    [['--metrics-bind-address=:70000'], 'got ":70000"'],
    [['--csi-endpoint=unix://relative.sock'], '--csi-endpoint must be unix:///absolute/path'],
    [['--csi-endpoint=tcp://host'], '--csi-endpoint must be unix:///absolute/path or tcp://host:port'],
    [['--csi-listen-timeout=11m'], '--csi-listen-timeout must be a duration from 0s to 600s'],
    [['--etcd-namespace=Bad_NS'], '--etcd-namespace must be a DNS-1123 label'],
    [['--leader-election-namespace=Bad_NS'], '--leader-election-namespace must be a DNS-1123 label'],
    [['--driver-name=-x'], '--driver-name must be a CSI driver name'],
    [['--etcd-discovery-method=label,dns'], 'must be a comma-separated list of annotation, etcd-druid'],
    [['--metrics-enabled=sometimes'], '--metrics-enabled must be true or false, got "sometimes"'],
  ])('refuses endpoints, addresses and names that cannot be used: %j', (argv, message) => {
    expect(refused(argv)).toContain(message);
  });

  it('accepts what the manifests and tests use', () => {
    const config = loadConfig(
      [
        '--metrics-bind-address=127.0.0.1:0',
        '--csi-endpoint=tcp://127.0.0.1:0',
        '--trace-endpoint=http://127.0.0.1:4318/v1/traces',
        '--csi-listen-timeout=0',
      ],
      {},
    );
    expect(config).toMatchObject({ metricsBindAddress: '127.0.0.1:0', csiListenTimeoutMs: 0 });
    expect(loadConfig(['--metrics-bind-address=[::1]:9090'], {}).metricsBindAddress).toBe('[::1]:9090');
    expect(loadConfig(['--metrics-bind-address=0'], {}).metricsBindAddress).toBe('0');
    expect(loadConfig(['--csi-endpoint=unix:/csi/csi.sock'], {}).csiEndpoint).toBe('unix:/csi/csi.sock');
  });

  it('quotes a long bad value cut short, so the message stays bounded', () => {
    const message = refused([`--log-level=${'x'.repeat(5000)}`]);
    expect(message.length).toBeLessThan(200);
    expect(message).toContain('--log-level must be one of debug, info, warn, error, got "xxx');
  });
});

describe('the seed’s settings', () => {
  it('takes --v as the log level: 4 and more is debug, less is info', () => {
    expect(loadConfig(['--v=4'], {}).logLevel).toBe('debug');
    expect(loadConfig(['--v', '2'], {}).logLevel).toBe('info');
    expect(refused(['--v=loud'])).toBe('--v must be an integer from 0 to 10, got "loud"');
  });

  it('takes --leader-elect-namespace as --leader-election-namespace', () => {
    const config = loadConfig(['--leader-elect', '--leader-elect-namespace=kube-system'], {});
    expect(config.leaderElectionNamespace).toBe('kube-system');
  });

  it('refuses a flag and its alias together rather than choosing one', () => {
    expect(refused(['--log-level=info', '--v=4'])).toBe(
      '--log-level=info and --v=4 both set --log-level: give one of them',
    );
  });

  it('reads ETCD_DISCOVERY_METHOD, METRICS_ENABLED, METRICS_PORT and CSI_LISTEN_TIMEOUT', () => {
    const config = loadConfig([], {
      ETCD_DISCOVERY_METHOD: 'label',
      METRICS_ENABLED: 'false',
      METRICS_PORT: '9090',
      CSI_LISTEN_TIMEOUT: '45s',
    });
    expect(config).toMatchObject({
      discoveryMethods: ['label'],
      metricsEnabled: false,
      metricsBindAddress: ':9090',
      csiListenTimeoutMs: 45_000,
    });
    expect(loadConfig([], {}).discoveryMethods).toEqual(['annotation', 'etcd-druid', 'label', 'statefulset']);
    expect(loadConfig([], { ETCD_DISCOVERY_METHOD: 'label, statefulset,label' }).discoveryMethods).toEqual([
      'label',
      'statefulset',
    ]);
    expect(refused([], { METRICS_PORT: '0' })).toBe(
      'METRICS_PORT must be an integer from 1 to 65535, got "0"',
    );
    expect(refused([], { METRICS_PORT: '9090', METRICS_BIND_ADDRESS: ':8080' })).toBe(
      'METRICS_BIND_ADDRESS=:8080 and METRICS_PORT=9090 both set --metrics-bind-address: give one of them',
    );
    // A flag is a higher tier than a variable: it wins without a conflict.
    expect(loadConfig(['--metrics-bind-address=:8081'], { METRICS_PORT: '9090' }).metricsBindAddress).toBe(
      ':8081',
    );
  });
});
