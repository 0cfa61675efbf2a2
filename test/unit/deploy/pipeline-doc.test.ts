// docs/pipeline.md's option table names the driver's real flags with the driver's defaults (an
// audit found suggested flag names that did not exist and defaults that were not the driver's).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../../src/config/config.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const doc = readFileSync(join(PROJECT_ROOT, 'docs/pipeline.md'), 'utf8');
const section = doc.slice(doc.indexOf('## Options'), doc.indexOf('`informers` are the shared informers'));

/** `| option | flag(s) | driver default | … |` rows. */
const rows = [...section.matchAll(/^\| `([a-zA-Z.]+)` \| ([^|]*) \| ([^|]*) \|/gm)].map((m) => ({
  option: m[1]!,
  flags: [...m[2]!.matchAll(/`--([a-z0-9-]+)`/g)].map((f) => f[1]!),
  driverDefault: m[3]!.trim().replace(/`/g, ''),
}));

describe('docs/pipeline.md options', () => {
  it('has its rows', () => {
    expect(rows.length).toBeGreaterThan(10);
  });

  it('names only flags the driver has, with their defaults', () => {
    const wrong: string[] = [];
    for (const row of rows) {
      for (const flag of row.flags) {
        const option = OPTIONS.find((o) => o.flag === flag);
        if (!option) wrong.push(`${row.option}: --${flag} is no flag`);
        else if (row.flags.length === 1 && option.default !== undefined) {
          const value = String(option.default);
          if (row.driverDefault !== value)
            wrong.push(`${row.option}: doc ${row.driverDefault}, --${flag} ${value}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
