// docs/troubleshooting.md names reasons of the real error catalog with their real gRPC codes, and
// covers every reason a running install can meet (everything but request validation).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../../src/csi/errors.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const doc = readFileSync(join(PROJECT_ROOT, 'docs/troubleshooting.md'), 'utf8');
const catalog = ERROR_CATALOG as Record<string, { code: string }>;

describe('docs/troubleshooting.md', () => {
  it('gives each reason it names with its catalog code', () => {
    // Rows read "| `REASON`, `OTHER` (CODE) | …".
    const rows = [...doc.matchAll(/^\| ((?:`[A-Z_]+`(?:, )?)+) \(([A-Z_]+)\) \|/gm)];
    expect(rows.length).toBeGreaterThan(15);
    const wrong: string[] = [];
    for (const [, reasons, code] of rows) {
      for (const reason of reasons!.match(/[A-Z_]+/g)!) {
        if (catalog[reason]?.code !== code)
          wrong.push(`${reason}: doc ${code}, catalog ${catalog[reason]?.code ?? 'none'}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('covers every operational reason (etcd, auth, storage, Job, snapshot, API)', () => {
    const operational = Object.keys(catalog).filter((r) =>
      /^(ETCD_|AUTH_|STORAGE_|JOB_|SNAPSHOT_|KUBE_|CHECKSUM_|CLUSTER_|PVC_)/.test(r),
    );
    expect(operational.length).toBeGreaterThan(20);
    expect(operational.filter((r) => !doc.includes(`\`${r}\``))).toEqual([]);
  });
});
