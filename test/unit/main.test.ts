// The driver's command line without a cluster: flag errors and an unreadable kubeconfig end the
// process with a clear message. The running lifecycle (serve, hold Leases, stop on a signal) is
// tested against a real apiserver in test/integration/app/driver-process.test.ts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../harness/tools.ts';

const CLI = join(PROJECT_ROOT, 'bin/etcd-snapshot-driver');
const dir = mkdtempSync(join(tmpdir(), 'main-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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

  it('exits 2 with the usage, not a stack trace, on a Lease duration that is not whole seconds', async () => {
    const { code, stderr } = await run(['--leader-elect', '--leader-election-lease-duration=1500ms']);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'etcd-snapshot-driver: --leader-election-lease-duration must be a duration of whole seconds from 1s to 600s (e.g. 15s), got "1500ms"',
    );
    expect(stderr).toContain('Usage: etcd-snapshot-driver');
    expect(stderr).not.toMatch(/fatal|\n\s+at /);
  });

  it('exits 2 naming the key and the file on an unknown config file key', async () => {
    const path = join(dir, 'typo.yaml');
    writeFileSync(path, 'snapshot_timout: 300\n');
    const { code, stderr } = await run([`--config=${path}`]);
    expect(code).toBe(2);
    expect(stderr).toContain(`unknown key snapshot_timout in ${path}`);
  });

  it("takes the seed Deployment's args and its ConfigMap mounted as a file, and gets past configuration", async () => {
    const configMap = parse(
      readFileSync(join(PROJECT_ROOT, 'test/fixtures/seed/driver-configmap.yaml'), 'utf8'),
    ) as { data: Record<string, string> };
    const path = join(dir, 'config.yaml');
    writeFileSync(path, configMap.data['config.yaml']!);
    const { code, stdout, stderr } = await run(
      [
        // The seed's HA Deployment's args (the socket in a temporary directory) …
        `--csi-endpoint=unix://${join(dir, 'csi.sock')}`,
        '--leader-elect',
        '--leader-elect-namespace=kube-system',
        '--v=4',
        // … and no cluster to reach: it stops right after reading its settings.
        '--kubeconfig=/nonexistent/kubeconfig',
      ],
      { CONFIG_FILE: path },
    );
    expect(stderr).toContain('/nonexistent/kubeconfig');
    expect(code).toBe(1);
    // The flag --v=4 (debug) wins over the file's logging.level (info).
    const starting = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === 'etcd-snapshot-driver starting');
    expect(starting).toMatchObject({ log_level: 'debug', csi_endpoint: `unix://${join(dir, 'csi.sock')}` });
  });

  it('prints the usage with every flag on --help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const flag of ['--leader-election-buckets', '--agent-image', '--trace-exporter', '--csi-endpoint']) {
      expect(stdout).toContain(flag);
    }
  });
});
