// The CRDs deploy/ installs parse to what their authors meant: an unquoted comma inside a YAML
// flow mapping (`{ description: a, b }`) silently makes `b` a key with a null value, which
// kube-apiserver then refuses (`strict decoding error: unknown field …`), so nothing installs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../../harness/tools.ts';

function nullPaths(value: unknown, path: string, found: string[]): string[] {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (child === null) found.push(`${path}.${key}`);
      else nullPaths(child, `${path}.${key}`, found);
    }
  }
  return found;
}

describe('deploy/crds', () => {
  const files = readdirSync(join(PROJECT_ROOT, 'deploy/crds')).filter(
    (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml',
  );

  it.each(files)('%s has no null-valued key (an unquoted comma in a flow mapping)', (file) => {
    const docs = parseAllDocuments(readFileSync(join(PROJECT_ROOT, 'deploy/crds', file), 'utf8'));
    const found = docs.flatMap((d) => nullPaths(d.toJS(), '', []));
    expect(found).toEqual([]);
  });

  it('finds such a key (the check can fail)', () => {
    const [doc] = parseAllDocuments('a: { description: one, two. }\n');
    expect(nullPaths(doc!.toJS(), '', [])).toEqual(['.a.two.']);
  });

  it('the kustomization lists every CRD file', () => {
    const kustomization = readFileSync(join(PROJECT_ROOT, 'deploy/crds/kustomization.yaml'), 'utf8');
    for (const file of files) expect(kustomization).toContain(`- ${file}`);
  });
});
