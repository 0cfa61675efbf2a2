// What GetPluginInfo reports about this build: the package version and the commit it was built
// from. The image sets BUILD_COMMIT; a checkout reads it from .git so development builds say too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  version: string;
  commit: string;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function readBuildInfo(env: NodeJS.ProcessEnv = process.env, root = ROOT): BuildInfo {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string };
  return { version: pkg.version ?? '0.0.0', commit: env.BUILD_COMMIT || gitCommit(root) || 'unknown' };
}

function gitCommit(root: string): string | undefined {
  try {
    const head = readFileSync(join(root, '.git/HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    try {
      return readFileSync(join(root, '.git', ref), 'utf8').trim();
    } catch {
      const packed = readFileSync(join(root, '.git/packed-refs'), 'utf8');
      return packed
        .split('\n')
        .find((line) => line.endsWith(` ${ref}`))
        ?.split(' ')[0];
    }
  } catch {
    return undefined;
  }
}
