// deploy/monitoring checked by the real tools: kustomize (kubectl) builds it, promtool (built
// from the Go modules in hack/tools/prometheus) checks the alert rules and runs their unit tests
// (alerts.promtool.yaml), and every dashboard query is checked by promtool as a recording rule.
// Every driver metric the rules and panels name must be one the driver exports.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { createDriverMetrics } from '../../../src/telemetry/metrics.ts';
import { ensureTools, PROJECT_ROOT, type ToolComponent, tool } from '../../harness/tools.ts';

const run = promisify(execFile);
const MONITORING = join(PROJECT_ROOT, 'deploy/monitoring');
let dir: string;

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

beforeAll(async () => {
  // 'prometheus' is the build.sh component of promtool (see hack/tools/prometheus/go.mod).
  await ensureTools(['prometheus' as ToolComponent, 'kubernetes']);
  dir = mkdtempSync(join(tmpdir(), 'esd-promtool-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(tool('promtool'), args, { cwd: dir });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

function ruleSpec(): { groups: { name: string; rules: Rule[] }[] } {
  const docs = parseAllDocuments(readFileSync(join(MONITORING, 'prometheus-rule.yaml'), 'utf8'));
  const rule = docs.map((d) => d.toJS()).find((o) => o?.kind === 'PrometheusRule');
  return rule.spec;
}

function dashboard(): { panels: Panel[] } {
  return JSON.parse(readFileSync(join(MONITORING, 'dashboard.json'), 'utf8'));
}

/** Dashboard queries with Grafana's variables replaced by values Prometheus accepts. */
function concreteQueries(): string[] {
  return dashboard()
    .panels.flatMap((p) => p.targets ?? [])
    .map((t) =>
      t.expr
        .replaceAll('$__rate_interval', '5m')
        .replaceAll('$cluster', '.*')
        .replaceAll('$job', '.*')
        .replaceAll('$namespace', 'etcd-snapshot-driver'),
    );
}

describe('deploy/monitoring', () => {
  it('builds with kustomize into a PrometheusRule, a ServiceMonitor and a labelled dashboard ConfigMap', async () => {
    const { stdout } = await run(tool('kubectl'), ['kustomize', MONITORING]);
    const objects = parseAllDocuments(stdout).map((d) => d.toJS());
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/etcd-snapshot-driver-dashboard',
      'PrometheusRule/etcd-snapshot-driver',
      'ServiceMonitor/etcd-snapshot-driver',
    ]);
    const cm = objects.find((o) => o.kind === 'ConfigMap');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data['etcd-snapshot-driver.json']).title).toBe('ETCD Snapshot Driver Overview');
  });

  it('promtool checks the alert rules and passes their unit tests', async () => {
    writeFileSync(join(dir, 'rules.yaml'), stringify(ruleSpec()));
    const check = await promtool('check', 'rules', 'rules.yaml');
    expect(check).toMatch(/SUCCESS: 12 rules found/);
    copyFileSync(join(import.meta.dirname, 'alerts.promtool.yaml'), join(dir, 'alerts.promtool.yaml'));
    const test = await promtool('test', 'rules', 'alerts.promtool.yaml');
    expect(test).toMatch(/SUCCESS/);
  });

  it('has every alert of the seed, the restore engine’s, the schedule freshness and the remote copy alerts', () => {
    const alerts = ruleSpec().groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts.sort()).toEqual([
      'ETCDClusterLargeSnapshot',
      'ETCDClusterUnhealthy',
      'EtcdRestoreFailed',
      'SnapshotCreationFailure',
      'SnapshotJobHighErrorRate',
      'SnapshotJobTimeout',
      'SnapshotPVCFull',
      'SnapshotRemoteCopyCorrupt',
      'SnapshotRemoteCopyFailed',
      'SnapshotRemoteCopyStale',
      'SnapshotScheduleStale',
      'SnapshotSlowCreation',
    ]);
  });

  it('has the seed dashboard rows, the Schedules, Restores and Remote copies rows, and promtool accepts every panel query', async () => {
    const rows = dashboard()
      .panels.filter((p) => p.type === 'row')
      .map((p) => p.title);
    expect(rows).toEqual([
      'Key Metrics',
      'Operation Performance',
      'ETCD Cluster Health',
      'Kubernetes Resources',
      'Alerts and Events',
      'Schedules',
      'Restores',
      'Remote copies',
    ]);
    const queries = concreteQueries();
    expect(queries.length).toBeGreaterThan(20);
    const rules = {
      groups: [
        { name: 'dashboard', rules: queries.map((expr, i) => ({ record: `dashboard:query${i}`, expr })) },
      ],
    };
    writeFileSync(join(dir, 'dashboard-rules.yaml'), stringify(rules));
    expect(await promtool('check', 'rules', 'dashboard-rules.yaml')).toMatch(
      new RegExp(`SUCCESS: ${queries.length} rules found`),
    );
  });

  it('names only metrics the driver exports', async () => {
    const exported = new Set(
      (await createDriverMetrics().registry.getMetricsAsJSON()).flatMap((m) =>
        String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
      ),
    );
    const exprs = [...ruleSpec().groups.flatMap((g) => g.rules.map((r) => r.expr)), ...concreteQueries()];
    const own = new Set(
      exprs.flatMap(
        (e) =>
          e.match(
            /\b(etcd_[a-z_]+|csi_rpc_[a-z_]+|workqueue_[a-z_]+|controller_runtime_[a-z_]+|process_[a-z_]+)\b/g,
          ) ?? [],
      ),
    );
    expect(own.size).toBeGreaterThan(10);
    for (const name of own) expect(exported, `${name} is not exported by the driver`).toContain(name);
  });
});
