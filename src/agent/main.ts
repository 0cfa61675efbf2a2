// The Job-side program: `etcd-snapshot-driver agent save|verify|upload|delete|sweep|restore …` (src/main.ts hands
// argv over when its first word is `agent`). Logs go to stderr as JSON lines; the AgentResult goes
// to stdout, the termination message and (save) the meta file; the exit code tells the outcome
// even when the message is lost (contract.ts). Any failure becomes a result with a catalog reason
// and a message — never a stack, which could carry request options and with them credentials.
import type { Reason } from '../reasons/reasons.ts';
import { createLogger } from '../telemetry/logger.ts';
import { AGENT_USAGE, type AgentCommand, isAgentOperation, parseAgentArgs } from './args.ts';
import { AGENT_EXIT_CODES, type AgentOperation, type AgentResult } from './contract.ts';
import { runDelete } from './delete.ts';
import { runRemoteDelete } from './delete-remote.ts';
import { classifyFailure, UsageError } from './failure.ts';
import { runRestore } from './restore.ts';
import { writeTerminationMessage } from './result-output.ts';
import { runSave } from './save.ts';
import { runSweep } from './sweep.ts';
import { startAgentTracing } from './tracing.ts';
import { runUpload } from './upload.ts';
import { runVerify } from './verify.ts';
import { runRemoteVerify } from './verify-remote.ts';

export interface AgentIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborts the running operation (the process wiring passes SIGTERM here). */
  signal?: AbortSignal;
}

function logLevel(env: NodeJS.ProcessEnv): 'debug' | 'info' | 'warn' | 'error' {
  const v = env.LOG_LEVEL;
  return v === 'debug' || v === 'warn' || v === 'error' ? v : 'info';
}

export async function runAgent(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: AgentIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const args = argv[0] === 'agent' ? argv.slice(1) : argv;
  const log = createLogger({ level: logLevel(env), format: 'json', destination: io.stderr }).child({
    component: 'agent',
  });
  let command: AgentCommand;
  try {
    command = parseAgentArgs(args);
  } catch (err) {
    const failure = classifyFailure(err);
    io.stderr.write(`etcd-snapshot-driver agent: ${failure.message}\n\n${AGENT_USAGE}`);
    const op = args[0];
    if (isAgentOperation(op)) {
      io.stdout.write(`${JSON.stringify(failed(op, failure.reason, failure.message))}\n`);
    }
    return err instanceof UsageError ? AGENT_EXIT_CODES.USAGE : failure.exitCode;
  }

  const opLog = log.child({ operation: resultOperation(command) });
  const tracing = await startAgentTracing(env);
  let result: AgentResult;
  let exitCode: number = AGENT_EXIT_CODES.OK;
  try {
    const deps = { log: opLog, tracing, ...(io.signal ? { signal: io.signal } : {}) };
    switch (command.operation) {
      case 'save':
        result = await runSave(command.args, deps);
        break;
      case 'verify':
        result = await runVerify(command.args, deps);
        break;
      case 'verify-remote':
        result = await runRemoteVerify(command.args, deps);
        break;
      case 'upload':
        result = await runUpload(command.args, deps);
        break;
      case 'delete':
        result = await runDelete(command.args, deps);
        break;
      case 'delete-remote':
        result = await runRemoteDelete(command.args, deps);
        break;
      case 'sweep':
        result = await runSweep(command.args, deps);
        break;
      case 'restore':
        result = await runRestore(command.args, deps);
        break;
    }
  } catch (err) {
    const failure = classifyFailure(
      io.signal?.aborted ? new Error(`aborted: ${String(io.signal.reason)}`) : err,
    );
    exitCode = failure.exitCode;
    result = failed(resultOperation(command), failure.reason, failure.message);
    if (command.operation === 'save' || command.operation === 'upload') {
      if (command.operation === 'save') result.snapshotId = command.args.snapshotId;
      result.file = command.args.file;
    } else if (command.operation === 'verify') {
      result.file = command.args.file;
    } else if (command.operation === 'delete-remote' && command.args.dir) {
      result.file = command.args.dir;
    } else if (command.operation === 'restore') {
      if (command.args.mode === 'restore') result.file = command.args.file;
      result.restore = { state: 'failed', dataDir: command.args.dataDir };
    }
    opLog.error(
      { reason: failure.reason, exit_code: exitCode, error: failure.message },
      `agent ${resultOperation(command)}${command.operation.endsWith('-remote') ? ' --remote' : ''} failed`,
    );
  } finally {
    await tracing.shutdown();
  }
  await writeTerminationMessage(command.terminationLog, result);
  io.stdout.write(`${JSON.stringify(result)}\n`);
  return exitCode;
}

/** `verify --remote` reports as a verify, `delete --remote` as a delete. */
function resultOperation(command: AgentCommand): AgentOperation {
  if (command.operation === 'verify-remote') return 'verify';
  return command.operation === 'delete-remote' ? 'delete' : command.operation;
}

function failed(operation: AgentOperation, reason: Reason, message: string): AgentResult {
  return { operation, ok: false, error: { reason, message } };
}
