// Renders deploy/ kustomizations with kubectl's built-in kustomize (the one users have), from the
// tools cache, and parses the result.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT, tool } from '../../harness/tools.ts';

const run = promisify(execFile);

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The kustomizations users apply, relative to deploy/. */
export const KUSTOMIZATIONS = [
  'base',
  'overlays/ha',
  'overlays/local',
  'overlays/local-ha',
  'overlays/monitoring',
] as const;

/** `kubectl kustomize deploy/<dir>` as YAML text; rejects with kustomize's error. */
export async function renderYaml(dir: string): Promise<string> {
  try {
    const { stdout } = await run(tool('kubectl'), ['kustomize', join(PROJECT_ROOT, 'deploy', dir)], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl kustomize deploy/${dir} failed: ${stderr.trim() || (err as Error).message}`);
  }
}

export function parseManifests(text: string): ManifestObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as ManifestObject | null)
    .filter((o): o is ManifestObject => o !== null);
}

export async function render(dir: string): Promise<ManifestObject[]> {
  return parseManifests(await renderYaml(dir));
}

export function find(objects: readonly ManifestObject[], kind: string, name: string): ManifestObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(
      `no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  return found;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  [field: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  [field: string]: unknown;
}

export function podTemplate(deployment: ManifestObject): {
  metadata: Record<string, unknown>;
  spec: PodSpec;
} {
  return (deployment.spec as { template: { metadata: Record<string, unknown>; spec: PodSpec } }).template;
}

export function container(deployment: ManifestObject, name: string): Container {
  const found = podTemplate(deployment).spec.containers.find((c) => c.name === name);
  if (!found) throw new Error(`Deployment ${deployment.metadata.name} has no container ${name}`);
  return found;
}
