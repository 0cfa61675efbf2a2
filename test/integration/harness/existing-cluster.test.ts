// The contract hack/kind-e2e.sh relies on, proven without kind: a local cluster with the driver
// deployed runs in ANOTHER process (test/harness/serve-cluster.ts), and the upstream e2e file runs
// as a child vitest told to use that cluster through ETCD_SNAPSHOT_DRIVER_E2E_KUBECONFIG. It
// passes; it started no cluster of its own; it left out the checks that need the process
// kubelet's host access, saying which; and what it made is in the served cluster.
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_KUBECONFIG_ENV } from '../../harness/existing-cluster.ts';
import { runKubectl } from '../../harness/kubectl.ts';
import { type ManagedProcess, startProcess, waitFor } from '../../harness/process.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const LOG_DIR = join(tmpdir(), 'etcd-snapshot-driver-existing-cluster-test');
// The child's whole run (cluster tier set-up, three cases) on a loaded 2-core machine.
const CHILD_TIMEOUT_MS = 15 * 60_000;

interface Served {
  kubeconfig: string;
  apiserver: string;
  dir: string;
}

let server: ManagedProcess | undefined;
let served: Served;
let logDir: string;

/** The environment of a child vitest: ours without the variables vitest sets for its workers. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VITEST') && key !== E2E_KUBECONFIG_ENV) env[key] = value;
  }
  return { ...env, ...extra };
}

beforeAll(async () => {
  mkdirSync(LOG_DIR, { recursive: true });
  logDir = mkdtempSync(join(LOG_DIR, 'run-'));
  const serverLog = join(logDir, 'serve-cluster.log');
  server = startProcess(
    'serve-cluster',
    process.execPath,
    [join(PROJECT_ROOT, 'test/harness/serve-cluster.ts'), 'served-e2e'],
    { logFile: serverLog, cwd: PROJECT_ROOT, env: childEnv({}) },
  );
  const started = server;
  served = await waitFor(
    'serve-cluster to print its kubeconfig',
    () => {
      const line = readFileSync(serverLog, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('{"kubeconfig"'));
      return line ? (JSON.parse(line) as Served) : undefined;
    },
    {
      timeoutMs: 540_000,
      intervalMs: 500,
      abortIf: () => (started.hasExited ? `serve-cluster exited (see ${serverLog})` : undefined),
    },
  );
}, 600_000);

afterAll(async () => {
  await server?.stop(60_000);
});

describe('the e2e suite on an existing cluster (ETCD_SNAPSHOT_DRIVER_E2E_KUBECONFIG)', () => {
  it('runs the upstream e2e file against a cluster of another process, and it passes', {
    timeout: CHILD_TIMEOUT_MS + 60_000,
  }, async () => {
    expect(existsSync(served.kubeconfig)).toBe(true);
    const childLog = join(logDir, 'child-vitest.log');
    const child = startProcess(
      'child-vitest',
      process.execPath,
      [
        join(PROJECT_ROOT, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--project',
        'e2e',
        'test/e2e/upstream/snapshots.test.ts',
      ],
      {
        logFile: childLog,
        cwd: PROJECT_ROOT,
        env: childEnv({ [E2E_KUBECONFIG_ENV]: served.kubeconfig, NO_COLOR: '1' }),
      },
    );
    const deadline = setTimeout(() => void child.stop(10_000), CHILD_TIMEOUT_MS);
    const exit = await child.exited;
    clearTimeout(deadline);
    const output = readFileSync(childLog, 'utf8');
    const tail = output.slice(-6_000);

    expect(exit, `child vitest (log ${childLog}):\n${tail}`).toEqual({ code: 0, signal: null });
    expect(output).toMatch(/Tests\s+(\S+\s+)?3 passed/);
    // It used the served cluster and started none: the harness says so.
    expect(output).toContain(`upstream-snapshots: using the existing cluster at ${served.apiserver}`);
    expect(output).toContain('deploy/overlays/local is not applied');
    // What needs host access was left out, each with its line.
    for (const what of [
      'the file of record',
      'restoring the file of group-1 (its keys)',
      'that the snapshot directory of group-1 is gone',
      'that the file of group-retain is still there, unchanged',
    ]) {
      expect(output).toContain(`not checked on an existing cluster (${E2E_KUBECONFIG_ENV}): ${what}`);
    }
    // What it made is in the served cluster.
    const { stdout } = await runKubectl(served.kubeconfig, [
      'get',
      'volumesnapshot',
      'single-1',
      '-n',
      'etcd',
      '-o',
      'jsonpath={.status.readyToUse}',
    ]);
    expect(stdout).toBe('true');
  });
});
