// vitest globalSetup of the cluster tiers: starts building (or finding cached) the upstream
// components in the background and returns at once, so the unit tier and the files that need only
// etcd and Kubernetes run while Velero or Jaeger still compile. Each harness entry point waits for
// just the components it starts (ensureTools in tools.ts; build.sh locks per component), so a
// file never starts before its binaries exist. A cold build prints its progress and takes minutes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { COMPONENTS_BY_NEED, PROJECT_ROOT, type ToolComponent } from './tools.ts';

// Both cluster projects name this file; vitest runs it once per project in the same process.
const STARTED = 'ETCD_SNAPSHOT_DRIVER_TOOLS_BACKGROUND_BUILD';

export default function setup(): (() => void) | undefined {
  if (process.env[STARTED]) return undefined;
  process.env[STARTED] = '1';
  return startBackgroundBuild(COMPONENTS_BY_NEED).teardown;
}

export interface BackgroundBuild {
  /** build.sh's exit code (null: ended by a signal). */
  readonly exited: Promise<number | null>;
  /**
   * At the end of the run: a build still going is stopped (the run needed less than everything,
   * and build.sh publishes a component only once it is complete); a failed one throws.
   */
  teardown(): void;
}

export function startBackgroundBuild(
  components: readonly ToolComponent[],
  env: NodeJS.ProcessEnv = process.env,
): BackgroundBuild {
  const command = `hack/tools/build.sh ${components.join(' ')}`;
  const child = spawn('bash', [join(PROJECT_ROOT, 'hack/tools/build.sh'), ...components], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
    // Its own process group, so a stop reaches the go build it runs.
    detached: true,
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      console.error(`[tools] the background build did not start: ${err.message}`);
      exitCode = 127;
      resolve(exitCode);
    });
    child.on('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
  });
  const teardown = () => {
    if (exitCode === undefined) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // It ended between the check and the signal.
      }
      return;
    }
    if (exitCode !== 0) {
      throw new Error(
        `the background tools build (${command}) exited ${exitCode}: see its [tools] output above`,
      );
    }
  };
  return { exited, teardown };
}
