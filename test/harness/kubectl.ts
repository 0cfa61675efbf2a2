// The real kubectl of the tools cache against a kubeconfig, for the harness and the tests.
import { execFile } from 'node:child_process';
import { tool } from './tools.ts';

export interface KubectlResult {
  stdout: string;
  stderr: string;
}

/** Runs kubectl; rejects with its stderr on a non-zero exit. */
export function runKubectl(
  kubeconfig: string,
  args: readonly string[],
  { input, timeoutMs = 60_000 }: { input?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      tool('kubectl'),
      [`--kubeconfig=${kubeconfig}`, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve({ stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}
