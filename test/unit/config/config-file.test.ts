// The --config file: the seed's ConfigMap mounts as is; flags win over it and it wins over
// environment variables; a key the driver does not know, or a bad value, names the key and file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '../../../src/config/config.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const dir = mkdtempSync(join(tmpdir(), 'config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(text: string): string {
  const path = join(dir, `config-${files++}.yaml`);
  writeFileSync(path, text);
  return path;
}

const seedConfigMap = parse(
  readFileSync(join(PROJECT_ROOT, 'test/fixtures/seed/driver-configmap.yaml'), 'utf8'),
) as { data: Record<string, string> };

function refused(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    loadConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('the config file', () => {
  it("reads the seed's ConfigMap as it is mounted", () => {
    const path = file(seedConfigMap.data['config.yaml']!);
    expect(loadConfig([`--config=${path}`], {})).toMatchObject({
      configFile: path,
      snapshotTimeoutSeconds: 300,
      storageClass: 'standard',
      discoveryMethods: ['label', 'annotation', 'statefulset'],
      logLevel: 'info',
      logFormat: 'json',
      metricsEnabled: true,
      metricsBindAddress: ':8080',
    });
  });

  it('is under the flags and over the environment', () => {
    const path = file('snapshot_timeout: 900\nlogging:\n  level: debug\nmetrics:\n  port: 9090\n');
    const env = { SNAPSHOT_TIMEOUT: '120', LOG_LEVEL: 'error', METRICS_BIND_ADDRESS: ':7070' };
    expect(loadConfig([`--config=${path}`], env)).toMatchObject({
      snapshotTimeoutSeconds: 900,
      logLevel: 'debug',
      metricsBindAddress: ':9090',
    });
    expect(
      loadConfig(
        [`--config=${path}`, '--snapshot-timeout=600', '--v=0', '--metrics-bind-address=:8081'],
        env,
      ),
    ).toMatchObject({ snapshotTimeoutSeconds: 600, logLevel: 'info', metricsBindAddress: ':8081' });
    // Where the file says nothing, the environment still counts.
    expect(loadConfig([`--config=${path}`], { STORAGE_CLASS: 'fast' }).storageClass).toBe('fast');
  });

  it('is named by CONFIG_FILE when --config is not given', () => {
    const path = file('storage_class: from-file\n');
    expect(loadConfig([], { CONFIG_FILE: path }).storageClass).toBe('from-file');
  });

  it('may be empty', () => {
    expect(loadConfig([`--config=${file('')}`], {}).snapshotTimeoutSeconds).toBe(300);
  });

  it('refuses a key it does not know, naming the key and the file', () => {
    const path = file('snapshot_timout: 300\n');
    expect(refused([`--config=${path}`])).toMatch(
      new RegExp(
        `^unknown key snapshot_timout in ${path} \\(known: discovery.label_selector, .*snapshot_timeout`,
      ),
    );
    expect(refused([`--config=${file('logging:\n  colour: red\n')}`])).toMatch(
      /^unknown key logging.colour in /,
    );
  });

  it('refuses a bad value naming the key, the file and the value', () => {
    const path = file('snapshot_timeout: 5\n');
    expect(refused([`--config=${path}`])).toBe(
      `snapshot_timeout in ${path} must be an integer from 60 to 3600, got "5"`,
    );
    expect(refused([`--config=${file('discovery:\n  methods: [label, dns]\n')}`])).toMatch(
      /^discovery.methods in .* must be a comma-separated list of annotation, etcd-druid, label, statefulset, got "label,dns"$/,
    );
    expect(refused([`--config=${file('metrics:\n  port: 99999\n')}`])).toMatch(
      /^metrics.port in .* must be an integer from 1 to 65535, got "99999"$/,
    );
    expect(refused([`--config=${file('logging: loud\n')}`])).toMatch(
      /^logging in .* must be a mapping of keys, got "loud"$/,
    );
    expect(refused([`--config=${file('storage_class: {a: 1}\n')}`])).toMatch(
      /^storage_class in .* must be a value or a list of values/,
    );
  });

  it('accepts the seed’s discovery label and no other (the label is fixed)', () => {
    const other = file('discovery:\n  label_selector:\n    app: etcd\n');
    expect(refused([`--config=${other}`])).toMatch(
      /^discovery.label_selector in .* must be \{"etcd.io\/cluster": ""\} .*got "\{\\"app\\":\\"etcd\\"\}"$/,
    );
  });

  it('refuses a file it cannot read or parse, naming it', () => {
    expect(refused([`--config=${join(dir, 'absent.yaml')}`])).toMatch(
      /^config file .*absent.yaml cannot be read: ENOENT/,
    );
    expect(refused([`--config=${file('a: [\n')}`])).toMatch(/^config file .* is not YAML: /);
    expect(refused([`--config=${file('- a\n- b\n')}`])).toMatch(/^config file .* must be a mapping of keys$/);
  });
});
