// A container as processes: `setpriv --pdeathsig KILL -- unshare --mount --uts --pid --fork
// --kill-child --mount-proc -- sh <entry script> <program> <args>`, in a process group of its own.
//
// Why each piece:
//  - pdeathsig on unshare and --kill-child on its forked child: when the kubelet dies, however it
//    dies, the container's PID 1 gets SIGKILL; a PID namespace whose PID 1 dies takes every other
//    process in it along (the kernel kills them), so nothing a pod started can outlive the kubelet.
//  - the PID namespace also gives runtime-like signal semantics: the program is PID 1, and SIGTERM
//    only stops it if it handles SIGTERM (a bare `sleep` needs the SIGKILL after the grace period,
//    as in Docker or containerd).
//  - the mount namespace lets the entry script bind volumes without touching the host's mounts.
// As root the namespaces come straight from unshare; without root (rootless CI) a user namespace
// mapping the caller to root provides them, and runAsUser cannot be honoured (documented).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type IsolationMode = 'root' | 'userns';

const NAMESPACES = [
  '--mount',
  '--uts',
  '--pid',
  '--fork',
  '--kill-child',
  '--mount-proc',
  '--propagation',
  'private',
];

export function unshareArgs(mode: IsolationMode): string[] {
  return mode === 'root'
    ? ['unshare', ...NAMESPACES]
    : ['unshare', '--user', '--map-root-user', ...NAMESPACES];
}

/** Finds how this machine can make containers; throws with the reason when it cannot. */
export function detectIsolation(): IsolationMode {
  const failures: string[] = [];
  for (const mode of ['root', 'userns'] as const) {
    const result = spawnSync(
      unshareArgs(mode)[0]!,
      [...unshareArgs(mode).slice(1), '--', 'sh', '-c', 'mount -t tmpfs none /tmp && exit 0'],
      {
        encoding: 'utf8',
        timeout: 10_000,
      },
    );
    if (result.status === 0) return mode;
    failures.push(`${mode}: ${(result.stderr || result.error?.message || `exit ${result.status}`).trim()}`);
  }
  throw new Error(`cannot create mount and PID namespaces with unshare (${failures.join('; ')})`);
}

export interface ProcessExit {
  /** Exit code, or 128 + signal number for a signalled exit (what runtimes report). */
  exitCode: number;
  signal?: number;
}

export interface ContainerProcess {
  /** PID of the unshare process leading the container's process group (host PID namespace). */
  readonly pid: number;
  /** Settles once the container's PID 1 is gone and its output is drained. */
  readonly exited: Promise<ProcessExit>;
  readonly hasExited: boolean;
  /** Sends a signal to every process of the container. */
  signal(signal: NodeJS.Signals): void;
  /**
   * The host PID of the container's PID 1 (the target for nsenter), once the entry script has
   * set the container up and exec'd the program.
   */
  namespacePid(): number | undefined;
}

export interface ContainerProcessSpec {
  isolation: IsolationMode;
  entryScript: string;
  argv: readonly string[];
  env: ReadonlyMap<string, string>;
  onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /**
   * The cgroup.procs file of the container's memory cgroup: the first process writes its pid
   * there and then execs the rest, so every process of the container is in it from the start.
   */
  cgroupProcsFile?: string;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

function toExit(code: number | null, signal: NodeJS.Signals | null): ProcessExit {
  if (code !== null) return { exitCode: code };
  const number = (signal && SIGNAL_NUMBERS[signal]) ?? 9;
  return { exitCode: 128 + number, signal: number };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

export function startContainerProcess(spec: ContainerProcessSpec): ContainerProcess {
  const container = [
    'setpriv',
    '--pdeathsig',
    'KILL',
    '--',
    ...unshareArgs(spec.isolation),
    '--',
    '/bin/sh',
    spec.entryScript,
    ...spec.argv,
  ];
  const joinCgroup = spec.cgroupProcsFile
    ? ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', spec.cgroupProcsFile]
    : [];
  const [command, ...args] = [...joinCgroup, ...container];
  const child = spawn(command!, args, {
    env: Object.fromEntries(spec.env),
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: signals reach the whole container
  });
  let hasExited = false;
  child.stdout?.on('data', (chunk: Buffer) => spec.onOutput('stdout', chunk));
  child.stderr?.on('data', (chunk: Buffer) => spec.onOutput('stderr', chunk));
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('error', (err) => {
      hasExited = true;
      spec.onOutput('stderr', Buffer.from(`process-kubelet: cannot start the container: ${err.message}\n`));
      resolve({ exitCode: 128 });
    });
    // 'close' comes after 'exit' once stdout and stderr are drained: the log is complete then.
    child.once('close', (code, signal) => {
      hasExited = true;
      // Whatever may be left in the group (there should be nothing: the PID namespace is gone).
      killGroup(child, 'SIGKILL');
      resolve(toExit(code, signal));
    });
  });
  return {
    pid: child.pid ?? -1,
    exited,
    get hasExited() {
      return hasExited;
    },
    signal: (signal) => {
      if (!hasExited) killGroup(child, signal);
    },
    namespacePid: () => {
      if (child.pid === undefined || hasExited) return undefined;
      try {
        const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
        const first = Number(children.split(' ')[0]);
        if (!Number.isInteger(first) || first <= 0) return undefined;
        // Still the entry script: mounts may not be in place yet.
        const cmdline = readFileSync(`/proc/${first}/cmdline`, 'utf8');
        return cmdline.includes(spec.entryScript) ? undefined : first;
      } catch {
        return undefined;
      }
    },
  };
}

export interface ExecResult {
  exitCode: number;
  output: string;
  timedOut: boolean;
}

const MAX_EXEC_OUTPUT = 10 * 1024;

/**
 * Runs a command inside a running container (exec probes and hooks): nsenter into its mount, UTS
 * and PID namespaces, then setpriv to the container's user. Output is kept up to 10 KiB, as the
 * kubelet keeps probe output.
 */
export async function execInContainer(
  container: ContainerProcess,
  isolation: IsolationMode,
  argv: readonly string[],
  options: {
    env: ReadonlyMap<string, string>;
    workingDir?: string;
    setpriv: string;
    userArgs: readonly string[];
    timeoutMs: number;
  },
): Promise<ExecResult> {
  // A probe may come right after the start, while the container is still being set up.
  let target = container.namespacePid();
  for (
    let waited = 0;
    target === undefined && !container.hasExited && waited < options.timeoutMs;
    waited += 20
  ) {
    await new Promise((r) => setTimeout(r, 20));
    target = container.namespacePid();
  }
  if (target === undefined) return { exitCode: 1, output: 'container is not running', timedOut: false };
  const namespaces =
    isolation === 'userns' ? ['--user', '--mount', '--uts', '--pid'] : ['--mount', '--uts', '--pid'];
  const child = spawn(
    'nsenter',
    [
      `--target=${target}`,
      ...namespaces,
      `--wd=${options.workingDir || '/'}`,
      '--',
      options.setpriv,
      ...options.userArgs,
      '--pdeathsig',
      'KILL',
      '--',
      ...argv,
    ],
    { env: Object.fromEntries(options.env), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    if (output.length < MAX_EXEC_OUTPUT)
      output += chunk.toString('utf8').slice(0, MAX_EXEC_OUTPUT - output.length);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ exitCode: 126, output: err.message, timedOut: false });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: toExit(code, signal).exitCode, output, timedOut });
    });
  });
}
