// The driver's command line without a cluster: flag errors and an unreadable kubeconfig end the
// process with a clear message. The running lifecycle (serve, hold Leases, stop on a signal) is
// tested against a real apiserver in test/integration/app/driver-process.test.ts.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../harness/tools.ts';

const CLI = join(PROJECT_ROOT, 'bin/etcd-snapshot-driver');

function run(args: string[]) {
  const child = spawn(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
}

describe('etcd-snapshot-driver main', () => {
  it('exits 1 naming the kubeconfig when it cannot be read, after logging that it started', async () => {
    const { code, stdout, stderr } = await run(['--kubeconfig=/nonexistent/kubeconfig']);
    expect(code).toBe(1);
    expect(stdout).toContain('etcd-snapshot-driver starting');
    expect(stderr).toContain('/nonexistent/kubeconfig');
  });

  it('exits 2 with the usage on a bad flag', async () => {
    const { code, stderr } = await run(['--snapshot-timeout=5']);
    expect(code).toBe(2);
    expect(stderr).toContain('--snapshot-timeout must be an integer from 60 to 3600, got "5"');
    expect(stderr).toContain('Usage: etcd-snapshot-driver');
  });

  it('prints the usage with every flag on --help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const flag of ['--leader-election-buckets', '--agent-image', '--trace-exporter', '--csi-endpoint']) {
      expect(stdout).toContain(flag);
    }
  });
});
