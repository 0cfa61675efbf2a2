// vitest globalSetup of the cluster tiers: builds (or finds cached) the upstream components once,
// in the order files need them, before any test file starts. It waits for the whole build: when it
// returned at once (the build overlapping the tests), a cold run's velero-dr file waited for the
// 17-minute Velero build inside a test and hit the test's timeout — a wait for a tool must not
// count against a test. Harness entry points still ask for their own components (ensureTools;
// build.sh locks per component), which is instant once this has run. A cold build prints its
// progress and takes minutes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { COMPONENTS_BY_NEED, PROJECT_ROOT, type ToolComponent } from './tools.ts';

// Both cluster projects name this file; vitest runs it once per project in the same process.
const STARTED = 'ETCD_SNAPSHOT_DRIVER_TOOLS_BACKGROUND_BUILD';

export default async function setup(): Promise<void> {
  if (process.env[STARTED]) return;
  process.env[STARTED] = '1';
  const build = startBackgroundBuild(COMPONENTS_BY_NEED);
  await build.exited;
  // Throws, naming the command, when the build failed.
  build.teardown();
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
