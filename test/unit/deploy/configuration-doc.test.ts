// docs/configuration.md stays true to the code: every flag, environment variable, seed alias and
// config file key src/config knows is documented there, and nothing documented as a flag is unknown.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALIASES, OPTIONS } from '../../../src/config/config.ts';
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
    const known = [...OPTIONS, ...ALIASES].map((o) => o.flag);
    expect(documented.filter((f) => !known.includes(f))).toEqual([]);
  });

  it('lists every seed alias and config file key', () => {
    const aliases = flagSection.slice(flagSection.indexOf("### The seed's names"));
    for (const alias of ALIASES) {
      const names = [
        alias.flag && `\`--${alias.flag}\``,
        alias.env && `\`${alias.env}\``,
        alias.file && `file \`${alias.file}\``,
      ];
      expect(aliases, names.join()).toContain(`| ${names.filter(Boolean).join(', ')} |`);
    }
    const fileSection = flagSection.slice(flagSection.indexOf('### Config file'));
    const documentedKeys = [...fileSection.matchAll(/^\| `([a-z_.]+)` \|/gm)].map((m) => m[1]);
    const keys = [...OPTIONS, ...ALIASES].flatMap((o) => (o.file ? [o.file] : []));
    expect([...keys, 'discovery.label_selector'].sort()).toEqual(documentedKeys.sort());
  });

  it('lists every class parameter of docs/csi.md', () => {
    const csi = readFileSync(join(PROJECT_ROOT, 'docs/csi.md'), 'utf8');
    const params = csi.slice(csi.indexOf('## Parameters'), csi.indexOf('## etcd discovery'));
    const keys = [...params.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThanOrEqual(6);
    for (const key of keys) expect(doc).toContain(`| \`${key}\` |`);
  });
});
