// docs/configuration.md stays true to the code: every flag and environment variable
// src/config/config.ts knows is documented there, and nothing documented as a flag is unknown.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../../src/config/config.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const doc = readFileSync(join(PROJECT_ROOT, 'docs/configuration.md'), 'utf8');
const flagSection = doc.slice(doc.indexOf('## Driver flags'), doc.indexOf('## Class parameters'));

describe('docs/configuration.md', () => {
  it('lists every flag with its environment variable', () => {
    const missing = OPTIONS.filter(
      (o) =>
        !new RegExp(`^\\| \`--${o.flag}\` \\| ${o.env ? `\`${o.env}\`` : '—'} \\|`, 'm').test(flagSection),
    ).map((o) => `--${o.flag}`);
    expect(missing).toEqual([]);
  });

  it('lists no flag the driver does not know', () => {
    const documented = [...flagSection.matchAll(/^\| `--([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    expect(documented.filter((f) => !OPTIONS.some((o) => o.flag === f))).toEqual([]);
  });

  it('lists every class parameter of docs/csi.md', () => {
    const csi = readFileSync(join(PROJECT_ROOT, 'docs/csi.md'), 'utf8');
    const params = csi.slice(csi.indexOf('## Parameters'), csi.indexOf('## etcd discovery'));
    const keys = [...params.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThanOrEqual(6);
    for (const key of keys) expect(doc).toContain(`| \`${key}\` |`);
  });
});
