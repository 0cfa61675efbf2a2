// Child processes of the harness that can never outlive it: each runs under
// `setpriv --pdeathsig KILL` (the kernel kills it when its parent dies, however the parent died)
// in a process group of its own (so a stop reaches everything it started).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Settles when the process has exited, whatever the reason. */
  readonly exited: Promise<ProcessExit>;
  readonly hasExited: boolean;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<ProcessExit>;
}

export interface StartOptions {
  /** stdout and stderr are appended here. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const live = new Set<ChildProcess>();

// A harness that exits normally (or on an uncaught error) takes its processes with it at once;
// pdeathsig covers the cases where this handler never runs (SIGKILL).
process.on('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: StartOptions,
): ManagedProcess {
  const log = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', log, log],
      detached: true, // a new process group, led by the child
    });
  } finally {
    closeSync(log);
  }
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  live.add(child);
  let hasExited = false;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.on('exit', (code, signal) => {
      hasExited = true;
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    name,
    pid: child.pid,
    exited,
    get hasExited() {
      return hasExited;
    },
    async stop(graceMs = 5_000) {
      if (!hasExited) {
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
        try {
          await exited;
        } finally {
          clearTimeout(timer);
        }
      }
      // Whatever the leader left behind in its group goes too.
      killGroup(child, 'SIGKILL');
      return exited;
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails with the last error. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  {
    timeoutMs = 60_000,
    intervalMs = 250,
    abortIf,
  }: { timeoutMs?: number; intervalMs?: number; abortIf?: () => string | undefined } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    const abort = abortIf?.();
    if (abort !== undefined) throw new Error(`${what}: ${abort}`);
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** waitFor for a yes/no condition: resolves once `condition` holds (no value to hand back). */
export async function waitUntil(
  what: string,
  condition: () => Promise<boolean> | boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  await waitFor(what, async () => ((await condition()) ? true : undefined), options);
}
