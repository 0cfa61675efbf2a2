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
  reasons: [],
  telemetry: [],
  config: [],
  kube: [],
  informers: ['telemetry', 'kube'],
  leader: ['telemetry', 'kube'],
  records: ['informers', 'kube'],
  etcd: ['informers', 'records', 'telemetry'],
  agent: ['etcd', 'telemetry'],
  csi: ['informers', 'kube', 'records', 'etcd', 'telemetry'],
  reconcile: ['informers', 'kube', 'leader', 'records', 'etcd', 'telemetry', 'agent'],
  app: ['config', 'kube', 'informers', 'leader', 'records', 'etcd', 'reconcile', 'csi', 'telemetry'],
};

/** Leaf modules every module may import: the reason vocabulary. They import nothing of src/. */
const IMPORTABLE_BY_ALL: readonly string[] = ['reasons'];

/** Narrower rules inside an allowed edge: reconcile knows the agent only by its Job contract. */
const ONLY_FILES: Record<string, Record<string, readonly string[]>> = {
  reconcile: { agent: ['agent/contract.ts'] },
};

/**
 * Folders of src/reconcile/ every reconciler may import (docs/architecture.md, "Adding a
 * reconciler"); any other folder there is one reconciler's own, and no other reconciler's file
 * may import it. Files directly in src/reconcile/ (queue, controller, step.ts) are shared too.
 */
const SHARED_RECONCILE_FOLDERS: readonly string[] = ['jobs', 'snapshot-records'];

/** The reconciler folder a path of src/ is in, or undefined (not in one, or in a shared folder). */
function reconcilerFolderOf(path: string): string | undefined {
  const parts = path.split(sep);
  if (parts[0] !== 'reconcile' || parts.length < 3) return undefined;
  return SHARED_RECONCILE_FOLDERS.includes(parts[1]!) ? undefined : parts[1];
}

/**
 * Imports of a reconciler's folder from anywhere else in src/reconcile/: another reconciler, a
 * shared folder or a shared file (what is shared must not depend on one reconciler).
 */
function crossReconcilerImports(imports: readonly { from: string; to: string }[]): string[] {
  return imports
    .filter((e) => {
      const to = reconcilerFolderOf(e.to);
      if (to === undefined || !e.from.startsWith(`reconcile${sep}`)) return false;
      return e.from.split(sep)[1] !== to;
    })
    .map((e) => `${e.from} → ${e.to}`);
}

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

/** Every relative import in src/. */
function imports(): Edge[] {
  const found: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), m[1]!);
      found.push({ from: relative(SRC, file), to: relative(SRC, target), target });
    }
  }
  return found;
}

/** Imports between modules. */
function edges(): Edge[] {
  return imports().filter((e) => moduleOf(join(SRC, e.from)) !== moduleOf(e.target));
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
        if (IMPORTABLE_BY_ALL.includes(to)) return false;
        if (!allowed.includes(to)) return true;
        const only = ONLY_FILES[from]?.[to];
        return only !== undefined && !only.includes(e.to);
      })
      .map((e) => `${e.from} → ${e.to}`);
    expect(violations).toEqual([]);
  });

  it('nothing in src/reconcile imports a reconciler folder but that folder itself', () => {
    const inside = imports().filter((e) => e.from.startsWith(`reconcile${sep}`));
    expect(inside.some((e) => e.to.startsWith(join('reconcile', 'jobs')))).toBe(true);
    expect(crossReconcilerImports(inside)).toEqual([]);
  });

  it('the reconciler-folder rule catches a borrowing and lets shared folders through', () => {
    const at = (...p: string[]) => join('reconcile', ...p);
    expect(
      crossReconcilerImports([
        { from: at('retention', 'sweep-job.ts'), to: at('etcd-snapshot', 'names.ts') },
        { from: at('restore', 'flow.ts'), to: at('retention', 'kube-api.ts') },
        { from: at('retention', 'sweep-job.ts'), to: at('jobs', 'agent-job.ts') },
        { from: at('retention', 'reconciler.ts'), to: at('snapshot-records', 'indexes.ts') },
        { from: at('etcd-snapshot', 'start-save.ts'), to: at('step.ts') },
        { from: at('jobs', 'agent-job.ts'), to: at('etcd-snapshot', 'options.ts') },
        { from: at('etcd-snapshot', 'a.ts'), to: at('etcd-snapshot', 'b.ts') },
      ]),
    ).toEqual([
      `${at('retention', 'sweep-job.ts')} → ${at('etcd-snapshot', 'names.ts')}`,
      `${at('restore', 'flow.ts')} → ${at('retention', 'kube-api.ts')}`,
      `${at('jobs', 'agent-job.ts')} → ${at('etcd-snapshot', 'options.ts')}`,
    ]);
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
