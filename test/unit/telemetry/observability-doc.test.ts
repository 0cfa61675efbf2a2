// docs/observability.md's metric tables stay true to the registry: every family the driver
// exports is documented with its type and exactly its labels, and nothing documented is missing
// from /metrics. (The controller-runtime, leader and Node process families are listed in prose.)
// The values it lists for error and reason labels are the ones the code sends and exports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { isReason, STORAGE_REASONS } from '../../../src/reasons/reasons.ts';
import { DELETE_REASONS, REPORT_REASONS } from '../../../src/reconcile/retention/record-verdict.ts';
import { PromPipelineMetrics } from '../../../src/telemetry/driver-metrics.ts';
import { createDriverMetrics } from '../../../src/telemetry/metrics.ts';
import { PromRetentionMetrics } from '../../../src/telemetry/retention-metrics.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const doc = readFileSync(join(PROJECT_ROOT, 'docs/observability.md'), 'utf8');
const section = doc.slice(doc.indexOf('## Metrics'), doc.indexOf('## Logs'));

interface Family {
  type: string;
  labels: string[];
}

/** `| \`name\` | type | labels | meaning |` rows; labels are the backticked names outside parentheses. */
function documented(): Map<string, Family> {
  const rows = new Map<string, Family>();
  for (const m of section.matchAll(/^\| `([a-z_]+)` \| (counter|gauge|histogram) \| ([^|]*) \|/gm)) {
    const labels = [...m[3]!.replace(/\([^)]*\)/g, '').matchAll(/`([a-z_]+)`/g)].map((l) => l[1]!);
    rows.set(m[1]!, { type: m[2]!, labels: labels.sort() });
  }
  return rows;
}

async function exported(): Promise<Map<string, Family>> {
  const metrics = createDriverMetrics({ processMetrics: false });
  new PromRetentionMetrics(metrics.registry); // runDriver registers it beside the others
  const families = new Map<string, Family>();
  for (const f of await metrics.registry.getMetricsAsJSON()) {
    const single = metrics.registry.getSingleMetric(f.name) as unknown as { labelNames: string[] };
    families.set(f.name, { type: String(f.type), labels: [...single.labelNames].sort() });
  }
  return families;
}

/** The values a row gives a label in parentheses: `a`, `b` or a, b. */
function documentedValues(family: string, label: string): string[] {
  const row = section.split('\n').find((l) => l.startsWith(`| \`${family}\` |`)) ?? '';
  const inParens = row.match(new RegExp(`\`${label}\` \\(([^)]*)\\)`))?.[1] ?? '';
  const list = inParens.includes(':') ? inParens.slice(inParens.indexOf(':') + 1) : inParens;
  return list
    .split(',')
    .map((v) => v.trim().replace(/`/g, ''))
    .filter((v) => v !== '')
    .sort();
}

/** The values a family exports for a label, read back from the registry. */
async function exportedValues(registry: Registry, family: string, label: string): Promise<string[]> {
  const found = (await registry.getMetricsAsJSON()).find((f) => f.name === family);
  const values = (found?.values ?? []).map((v) => String(v.labels[label]));
  return [...new Set(values)].sort();
}

const IN_PROSE = /^(workqueue_|controller_runtime_|leader_election_)/;

describe('docs/observability.md metric tables', () => {
  it('document every exported family with its type and exactly its labels', async () => {
    const docs = documented();
    const mismatched: string[] = [];
    for (const [name, family] of await exported()) {
      if (IN_PROSE.test(name)) {
        if (!section.includes(`\`${name}`)) mismatched.push(`${name}: not named`);
        continue;
      }
      const row = docs.get(name);
      if (!row) mismatched.push(`${name}: no table row`);
      else if (row.type !== family.type || row.labels.join() !== family.labels.join())
        mismatched.push(
          `${name}: documented ${row.type} {${row.labels}}, exported ${family.type} {${family.labels}}`,
        );
    }
    expect(mismatched).toEqual([]);
  });

  it('document nothing the driver does not export', async () => {
    const names = await exported();
    expect([...documented().keys()].filter((n) => !names.has(n))).toEqual([]);
    expect(documented().size).toBeGreaterThan(15);
  });

  it('gives the storage error_type values exactly as the code sends and exports them', async () => {
    const registry = new Registry();
    const metrics = new PromPipelineMetrics(registry);
    for (const reason of STORAGE_REASONS) metrics.storageError('c', reason);
    const documented = documentedValues('etcd_snapshot_storage_errors_total', 'error_type');
    expect(documented).toEqual([...STORAGE_REASONS].sort());
    expect(await exportedValues(registry, 'etcd_snapshot_storage_errors_total', 'error_type')).toEqual(
      documented,
    );
    expect(STORAGE_REASONS.every(isReason)).toBe(true);
  });

  it('gives the retention reason values exactly as the code exports them', async () => {
    const registry = new Registry();
    const metrics = new PromRetentionMetrics(registry);
    metrics.reportedRecords('c', Object.fromEntries(REPORT_REASONS.map((r) => [r, 1])));
    for (const reason of DELETE_REASONS) metrics.recordDeleted('c', reason);
    const reported = documentedValues('etcd_snapshot_records_reported', 'reason');
    const deleted = documentedValues('etcd_snapshot_records_deleted_total', 'reason');
    expect(reported).toEqual([...REPORT_REASONS].sort());
    expect(deleted).toEqual([...DELETE_REASONS].sort());
    expect(await exportedValues(registry, 'etcd_snapshot_records_reported', 'reason')).toEqual(reported);
    expect(await exportedValues(registry, 'etcd_snapshot_records_deleted_total', 'reason')).toEqual(deleted);
  });
});
