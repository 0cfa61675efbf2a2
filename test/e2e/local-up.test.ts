// The README's main command, end to end: it brings up the cluster, the etcd fixture and the
// driver with its sidecars from deploy/overlays/local, takes a VolumeGroupSnapshot and prints its
// ready status, size, revision and file, prints how to reach it all, and tears everything down on
// Ctrl-C.
import { execFile, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { localClusterOnly } from '../harness/existing-cluster.ts';
import { waitFor } from '../harness/process.ts';
import { PROJECT_ROOT, tool } from '../harness/tools.ts';

const execFileAsync = promisify(execFile);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(
  localClusterOnly('test/e2e/local-up.test.ts', 'npm run local-up starts a local cluster of its own'),
)('npm run local-up', () => {
  it('brings up a cluster with a healthy 3-member etcd and the driver, takes a ready VolumeGroupSnapshot, serves kubectl, and leaves nothing on Ctrl-C', async () => {
    const child = spawn(
      join(PROJECT_ROOT, 'node_modules/.bin/node'),
      [join(PROJECT_ROOT, 'hack/local-up.ts')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        'local-up to report the cluster is up',
        () => (output.includes('The cluster is up') ? true : undefined),
        {
          // Cluster, etcd, the driver pod's three programs and one snapshot on a loaded 2-core machine.
          timeoutMs: 480_000,
          abortIf: () =>
            child.exitCode !== null ? `local-up exited ${child.exitCode}:\n${output}` : undefined,
        },
      );
      const kubeconfig = /export KUBECONFIG=(\S+)/.exec(output)?.[1];
      expect(kubeconfig).toBeDefined();
      const { stdout } = await execFileAsync(tool('kubectl'), [
        `--kubeconfig=${kubeconfig}`,
        'get',
        'pods',
        '-n',
        'etcd-demo',
        // The etcd members (the namespace also holds the snapshot's Job pod).
        '-l',
        'app=etcd',
        '-o',
        'jsonpath={.items[*].status.phase}',
      ]);
      expect(stdout.split(' ')).toEqual(['Running', 'Running', 'Running']);
      expect(output).toMatch(/demo-0.*started/s);

      // The group snapshot, as printed and as the API has it.
      expect(output).toContain('VolumeGroupSnapshot etcd-demo/demo-1 is ready');
      expect(output).toMatch(/readyToUse: true/);
      const size = Number(/size: +(\d+) bytes/.exec(output)?.[1]);
      expect(size).toBeGreaterThan(0);
      expect(/revision: +(\d+)/.exec(output)?.[1]).toBeDefined();
      expect(/sha256: +([0-9a-f]{64})/.exec(output)?.[1]).toBeDefined();
      expect(output).toMatch(/file: +\S+ in claim etcd-demo\/etcd-snapshots-demo/);
      const hostFile = /on host: +(\S+)/.exec(output)?.[1];
      // The schedule local-up shows, valid as the driver judged it.
      expect(output).toMatch(/EtcdSnapshotSchedule etcd-demo\/demo-hourly is valid \(1 cluster\(s\): demo\)/);
      expect(hostFile && existsSync(hostFile)).toBe(true);
      expect(statSync(hostFile!).size).toBe(size);
      const ready = await execFileAsync(tool('kubectl'), [
        `--kubeconfig=${kubeconfig}`,
        'get',
        'volumegroupsnapshot',
        'demo-1',
        '-n',
        'etcd-demo',
        '-o',
        'jsonpath={.status.readyToUse}',
      ]);
      expect(ready.stdout).toBe('true');
      const pids = (
        await execFileAsync('pgrep', ['-f', kubeconfig!.replace(/admin\.kubeconfig$/, '')]).catch(() => ({
          stdout: '',
        }))
      ).stdout
        .split('\n')
        .filter(Boolean)
        .map(Number);
      expect(pids.length).toBeGreaterThan(0);

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(output).toContain('[local-up] stopped');
      expect(pids.filter(alive)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 600_000);
});
