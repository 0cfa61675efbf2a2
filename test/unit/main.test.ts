// The driver's process lifecycle, through its real command line.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../harness/tools.ts';

const CLI = join(PROJECT_ROOT, 'bin/etcd-snapshot-driver');

function run(args: string[], signal?: NodeJS.Signals) {
  const child = spawn(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let signalled = false;
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    // Once: a second signal during shutdown means "stop now" and kills the process.
    if (signal && !signalled && stdout.includes('etcd-snapshot-driver started')) {
      signalled = true;
      child.kill(signal);
    }
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
}

describe('etcd-snapshot-driver main', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('starts, logs JSON and stops cleanly on %s', async (signal) => {
    const { code, stdout } = await run(['--metrics-bind-address=0'], signal);
    expect(code).toBe(0);
    const messages = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { message: string; signal?: string });
    expect(messages.map((m) => m.message)).toEqual([
      'etcd-snapshot-driver starting',
      'etcd-snapshot-driver started',
      'shutting down',
      'stopped',
    ]);
    expect(messages[2]?.signal).toBe(signal);
  });

  it('exits 2 with the usage on a bad flag', async () => {
    const { code, stderr } = await run(['--snapshot-timeout=5']);
    expect(code).toBe(2);
    expect(stderr).toContain('--snapshot-timeout must be an integer from 60 to 3600, got "5"');
    expect(stderr).toContain('Usage: etcd-snapshot-driver');
  });
});
