// The agent as a process: SIGTERM/SIGINT abort the running operation (the Job's pod is being
// stopped), the exit code is the operation's. src/main.ts calls runAgentProcess when argv[0] is
// `agent`; run directly (`node src/agent/process-entry.ts agent save …`) it does the same.
import { runAgent } from './main.ts';

export async function runAgentProcess(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(new Error(`received ${signal}`));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    return await runAgent(argv, process.env, {
      stdout: process.stdout,
      stderr: process.stderr,
      signal: controller.signal,
    });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

if (import.meta.main) {
  runAgentProcess(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `etcd-snapshot-driver agent: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
