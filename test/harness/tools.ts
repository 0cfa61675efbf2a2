// Where the upstream binaries built by hack/tools/build.sh live, and how to make sure they exist.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

export type ToolComponent =
  | 'etcd'
  | 'kubernetes'
  | 'snapshotter'
  | 'provisioner'
  | 'csi-test'
  | 'jaeger'
  | 'prometheus'
  | 'versitygw'
  | 'velero'
  | 'snapshotter-velero';

/** The cache root, as build.sh computes it. */
export function toolsDir(): string {
  return (
    process.env.ETCD_SNAPSHOT_DRIVER_TOOLS ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'etcd-snapshot-driver', 'tools')
  );
}

export function toolsBinDir(): string {
  return join(toolsDir(), 'bin');
}

/** Absolute path of a built binary; throws with the command that builds it when it is missing. */
export function tool(name: string): string {
  const path = join(toolsBinDir(), name);
  if (!existsSync(path)) {
    throw new Error(
      `${name} is not built yet: run \`npm run tools\` (hack/tools/build.sh) first (looked in ${path})`,
    );
  }
  return path;
}

/** Every component, in the order test files first need them (the background build's order). */
export const COMPONENTS_BY_NEED: readonly ToolComponent[] = [
  'etcd',
  'kubernetes',
  'snapshotter',
  'provisioner',
  'versitygw',
  'csi-test',
  'velero',
  'snapshotter-velero',
  'prometheus',
  'jaeger',
];

// What this process has ensured already: a harness entry point asks on every call.
const ensured = new Set<ToolComponent>();

/**
 * Runs hack/tools/build.sh for these components; cached components cost a few hundred ms. While
 * globalSetup's background build (global-setup.ts) holds a component, build.sh waits for it.
 */
export async function ensureTools(components: readonly ToolComponent[]): Promise<void> {
  const missing = components.filter((c) => !ensured.has(c));
  if (missing.length === 0) return;
  await runBuild(missing);
  for (const c of missing) ensured.add(c);
}

function runBuild(components: readonly ToolComponent[]): Promise<void> {
  return new Promise<void>((resolvePromise, reject) => {
    const child = spawn('bash', [join(PROJECT_ROOT, 'hack/tools/build.sh'), ...components], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`hack/tools/build.sh ${components.join(' ')} exited ${code}`)),
    );
  });
}
