// A driver started as a child process: its JSON log lines as they come, and its exit code.
import type { ChildProcess } from 'node:child_process';

export interface FollowedDriver {
  child: ChildProcess;
  /** Every JSON line the driver wrote to stdout so far. */
  lines: Record<string, unknown>[];
  /** Its exit code (stderr is copied to the test's when it is not 0). */
  exited: Promise<number | null>;
}

export function followDriver(child: ChildProcess): FollowedDriver {
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const line of parts) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0 && stderr) process.stderr.write(stderr);
      resolve(code);
    }),
  );
  return { child, lines, exited };
}

/** Polls `fn` until it gives neither undefined nor false, at most `ms`. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
