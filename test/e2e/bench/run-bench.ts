// Runs one bench script (bench/*.ts) as its own process, the way a person runs it by hand, and
// returns what it printed. The quick-mode tests use it to keep every bench working: they pass
// small sizes and check that the run ends well and prints its figures, never the figures' values.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess } from '../../harness/process.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

export interface BenchRun {
  code: number | null;
  output: string;
  seconds: number;
}

export async function runBench(
  script: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
  timeoutMs = 240_000,
): Promise<BenchRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-quick-'));
  const logFile = join(dir, 'output.log');
  const started = performance.now();
  const child = startProcess(script, process.execPath, [join(PROJECT_ROOT, 'bench', script), ...args], {
    logFile,
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
  });
  const timer = setTimeout(() => void child.stop(5_000), timeoutMs);
  try {
    const exit = await child.exited;
    return {
      code: exit.code,
      output: readFileSync(logFile, 'utf8'),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The run's output when it failed, so a red test shows why. */
export function explain(run: BenchRun): string {
  return `exit ${run.code} after ${run.seconds.toFixed(1)} s:\n${run.output.slice(-4_000)}`;
}
