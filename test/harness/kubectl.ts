// The real kubectl of the tools cache against a kubeconfig, for the harness and the tests.
import { execFile } from 'node:child_process';
import { waitFor } from './process.ts';
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

/**
 * Waits until every named CRD reports Established=True. Polls instead of `kubectl wait`, which
 * fails outright ("status.conditions accessor error") when it reads a CRD whose status has no
 * conditions yet — what a CRD applied a moment ago looks like.
 */
export async function waitCrdsEstablished(
  kubectl: (args: readonly string[]) => Promise<KubectlResult>,
  /** The CRDs to wait for; 'all' for every CRD the cluster has. */
  names: readonly string[] | 'all',
  timeoutMs = 120_000,
): Promise<void> {
  const current = async () =>
    names === 'all'
      ? (await kubectl(['get', 'crd', '-o', 'name'])).stdout
          .split('\n')
          .filter(Boolean)
          .map((n) => n.replace(/^customresourcedefinition\.apiextensions\.k8s\.io\//, ''))
      : names;
  const established = async (name: string) => {
    const { stdout } = await kubectl([
      'get',
      'crd',
      name,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Established")].status}',
    ]);
    return stdout.trim() === 'True';
  };
  await waitFor(
    `CRDs established: ${names === 'all' ? 'all' : names.join(', ')}`,
    async () => ((await Promise.all((await current()).map(established))).every(Boolean) ? true : undefined),
    { timeoutMs, intervalMs: 200 },
  );
}
