// csi-sanity, the CSI conformance suite, against the driver on a real cluster with a real etcd:
// hack/csi-sanity.sh with the focus the CSI issue names, and the snapshot suites besides.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';
import { type DriverEnv, deployEtcd, ETCD_FIXTURE, installCrds, startDriver } from './driver-env.ts';

let cluster: LocalCluster;
let env: DriverEnv;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'csi-sanity-'));
  cluster = await startLocalCluster({ name: 'csi-sanity' });
  await installCrds(cluster);
  await deployEtcd(cluster);
  env = await startDriver(cluster, { etcdNamespace: ETCD_FIXTURE.namespace! });
});

afterAll(async () => {
  await env?.stop();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface SanityRun {
  exitCode: number;
  output: string;
  tests: number;
  failures: string[];
  skipped: number;
}

function runSanity(focus: string | undefined, report: string): Promise<SanityRun> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [join(PROJECT_ROOT, 'hack/csi-sanity.sh')],
      {
        env: {
          ...process.env,
          CSI_ENDPOINT: env.endpoint,
          ETCD_CLUSTER: ETCD_FIXTURE.name,
          ETCD_NAMESPACE: ETCD_FIXTURE.namespace!,
          JUNIT: report,
          ...(focus ? { FOCUS: focus } : {}),
        },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 600_000,
      },
      (err, stdout, stderr) => {
        const xml = readFileSync(report, 'utf8');
        const cases = [...xml.matchAll(/<testcase name="([^"]*)"[^>]*status="([a-z]+)"/g)];
        resolve({
          exitCode: err ? ((err as { code?: number }).code ?? 1) : 0,
          output: `${stdout}\n${stderr}`,
          tests: cases.filter((c) => c[2] === 'passed' || c[2] === 'failed').length,
          failures: cases.filter((c) => c[2] === 'failed').map((c) => c[1]!),
          skipped: cases.filter((c) => c[2] === 'skipped').length,
        });
      },
    );
  });
}

describe('csi-sanity', () => {
  it("passes every spec of --ginkgo.focus='Identity Service|Controller Service|GroupController'", async () => {
    const run = await runSanity(undefined, join(dir, 'focus.xml'));
    expect(run.failures, run.output.slice(-8000)).toEqual([]);
    expect(run.exitCode, run.output.slice(-4000)).toBe(0);
    expect(run.tests).toBeGreaterThan(15);
  }, 600_000);

  it('passes the snapshot suites too (ListSnapshots, CreateSnapshot, DeleteSnapshot)', async () => {
    const run = await runSanity('ListSnapshots|CreateSnapshot|DeleteSnapshot', join(dir, 'snapshots.xml'));
    expect(run.failures, run.output.slice(-8000)).toEqual([]);
    expect(run.exitCode, run.output.slice(-4000)).toBe(0);
    expect(run.tests).toBeGreaterThan(10);
  }, 600_000);
});
