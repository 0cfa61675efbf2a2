// docs/observability.md's metric tables stay true to the registry: every family the driver
// exports is documented with its type and exactly its labels, and nothing documented is missing
// from /metrics. (The controller-runtime, leader and Node process families are listed in prose.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../../src/csi/errors.ts';
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

/** The values a row gives a label in parentheses, as backticked words. */
function documentedValues(family: string, label: string): string[] {
  const row = section.split('\n').find((l) => l.startsWith(`| \`${family}\` |`)) ?? '';
  const inParens = row.match(new RegExp(`\`${label}\` \\(([^)]*)\\)`))?.[1] ?? '';
  return [...inParens.matchAll(/`([A-Z_]+)`/g)].map((v) => v[1]!).sort();
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

  it('gives the storage error_type values in the words of the catalog (what the pipeline sends)', () => {
    const storageReasons = Object.keys(ERROR_CATALOG)
      .filter((r) => r.startsWith('STORAGE_'))
      .sort();
    expect(storageReasons.length).toBeGreaterThan(0);
    expect(documentedValues('etcd_snapshot_storage_errors_total', 'error_type')).toEqual(storageReasons);
  });
});
