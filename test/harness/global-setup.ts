// vitest globalSetup of the cluster tiers: starts building (or finding cached) the upstream
// components in the background and returns at once, so the unit tier and the files that need only
// etcd and Kubernetes run while Velero or Jaeger still compile. Each harness entry point waits for
// just the components it starts (ensureTools in tools.ts; build.sh locks per component), so a
// file never starts before its binaries exist. A cold build prints its progress and takes minutes.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { COMPONENTS_BY_NEED, PROJECT_ROOT } from './tools.ts';

// Both cluster projects name this file; vitest runs it once per project in the same process.
const STARTED = 'ETCD_SNAPSHOT_DRIVER_TOOLS_BACKGROUND_BUILD';

export default function setup(): (() => void) | undefined {
  if (process.env[STARTED]) return undefined;
  process.env[STARTED] = '1';
  const build = startBackgroundBuild();
  return () => {
    if (build.exitCode === null) {
      // The run needed less than everything (one file, one project): the rest is not wanted now,
      // and build.sh only publishes a component once it is complete.
      killGroup(build);
      return;
    }
    if (build.exitCode !== 0) {
      throw new Error(
        `the background tools build (hack/tools/build.sh ${COMPONENTS_BY_NEED.join(' ')}) exited ${build.exitCode}: see its [tools] output above`,
      );
    }
  };
}

function startBackgroundBuild(): ChildProcess {
  const child = spawn('bash', [join(PROJECT_ROOT, 'hack/tools/build.sh'), ...COMPONENTS_BY_NEED], {
    stdio: ['ignore', 'inherit', 'inherit'],
    // Its own process group, so a stop reaches the go build it runs.
    detached: true,
  });
  child.on('error', (err) => console.error(`[tools] the background build did not start: ${err.message}`));
  return child;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // It ended between the check and the signal.
  }
}
