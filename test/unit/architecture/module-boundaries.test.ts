// The module boundaries of docs/architecture.md, enforced: every relative import in src/ is read
// and checked against the table of what each top-level module may import. A new dependency
// between modules is a design change: change the table and the doc together.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const SRC = join(PROJECT_ROOT, 'src');

/** module → modules it may import (itself always). `main.ts` is the composition root. */
const ALLOWED: Record<string, readonly string[]> = {
  telemetry: [],
  config: [],
  kube: [],
  informers: ['telemetry', 'kube'],
  leader: ['telemetry', 'kube'],
  records: ['informers', 'kube'],
  etcd: ['informers', 'records', 'telemetry'],
  objectstore: [],
  agent: ['etcd', 'telemetry', 'objectstore'],
  csi: ['informers', 'kube', 'records', 'etcd', 'telemetry', 'objectstore'],
  reconcile: ['informers', 'kube', 'leader', 'records', 'etcd', 'telemetry', 'objectstore', 'agent'],
  app: ['config', 'kube', 'informers', 'leader', 'records', 'etcd', 'reconcile', 'csi', 'telemetry'],
};

/** Narrower rules inside an allowed edge: reconcile knows the agent only by its Job contract. */
const ONLY_FILES: Record<string, Record<string, readonly string[]>> = {
  reconcile: { agent: ['agent/contract.ts'] },
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function moduleOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes(sep) ? rel.split(sep)[0]! : rel;
}

interface Edge {
  from: string;
  to: string;
  target: string;
}

function edges(): Edge[] {
  const found: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), m[1]!);
      const from = relative(SRC, file);
      const to = relative(SRC, target);
      if (moduleOf(file) !== moduleOf(target)) found.push({ from, to, target });
    }
  }
  return found;
}

describe('module boundaries (docs/architecture.md)', () => {
  const all = edges();

  it('finds the imports it checks', () => {
    expect(all.length).toBeGreaterThan(50);
  });

  it('every import between modules is one the table allows', () => {
    const violations = all
      .filter((e) => moduleOf(join(SRC, e.from)) !== 'main.ts')
      .filter((e) => {
        const from = moduleOf(join(SRC, e.from));
        const to = moduleOf(e.target);
        const allowed = ALLOWED[from];
        if (allowed === undefined) return true; // a new module must be added to the table
        if (!allowed.includes(to)) return true;
        const only = ONLY_FILES[from]?.[to];
        return only !== undefined && !only.includes(e.to);
      })
      .map((e) => `${e.from} → ${e.to}`);
    expect(violations).toEqual([]);
  });

  it('the table knows every module under src/', () => {
    const modules = new Set(
      sourceFiles(SRC)
        .map(moduleOf)
        .filter((m) => m !== 'main.ts'),
    );
    expect([...modules].filter((m) => !(m in ALLOWED))).toEqual([]);
  });
});
