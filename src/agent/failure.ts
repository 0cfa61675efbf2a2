// Every way the agent can fail, as the exit code of contract.ts and a reason of the vocabulary
// (src/reasons). Messages are ours or etcd's status text: never a stack, never a credential.
import { EtcdError } from '../etcd/errors.ts';
import type { Reason } from '../reasons/reasons.ts';
import { AGENT_EXIT_CODES, type AgentExitCode } from './contract.ts';

export class AgentFailure extends Error {
  readonly reason: Reason;
  readonly exitCode: AgentExitCode;
  constructor(exitCode: AgentExitCode, reason: Reason, message: string) {
    super(message);
    this.name = 'AgentFailure';
    this.exitCode = exitCode;
    this.reason = reason;
  }
}

/** Bad command line: exit 2. */
export class UsageError extends AgentFailure {
  constructor(message: string) {
    super(AGENT_EXIT_CODES.USAGE, 'SNAPSHOT_FAILED', message);
    this.name = 'UsageError';
  }
}

const EXIT_BY_REASON: Partial<Record<Reason, AgentExitCode>> = {
  AUTH_CERT_INVALID: AGENT_EXIT_CODES.AUTH_FAILED,
  AUTH_CERT_NOT_FOUND: AGENT_EXIT_CODES.AUTH_FAILED,
  AUTH_PERMISSION_DENIED: AGENT_EXIT_CODES.AUTH_FAILED,
  AUTH_BASIC_INVALID: AGENT_EXIT_CODES.AUTH_FAILED,
  ETCD_ENDPOINTS_UNREACHABLE: AGENT_EXIT_CODES.UNREACHABLE,
  ETCD_QUORUM_LOST: AGENT_EXIT_CODES.QUORUM_LOST,
  ETCD_NO_LEADER: AGENT_EXIT_CODES.QUORUM_LOST,
  STORAGE_QUOTA_EXCEEDED: AGENT_EXIT_CODES.DISK_FULL,
  SNAPSHOT_INCOMPLETE: AGENT_EXIT_CODES.CORRUPT_STREAM,
  CHECKSUM_MISMATCH: AGENT_EXIT_CODES.CORRUPT_STREAM,
  SNAPSHOT_STATUS_FAILED: AGENT_EXIT_CODES.CORRUPT_STREAM,
};

export interface ClassifiedFailure {
  exitCode: AgentExitCode;
  reason: Reason;
  message: string;
}

/** Any thrown value → exit code, reason and a message safe to print. */
export function classifyFailure(err: unknown): ClassifiedFailure {
  if (err instanceof AgentFailure)
    return { exitCode: err.exitCode, reason: err.reason, message: err.message };
  if (err instanceof EtcdError) {
    return {
      exitCode: EXIT_BY_REASON[err.reason] ?? AGENT_EXIT_CODES.UNEXPECTED,
      reason: err.reason,
      message: err.message,
    };
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return {
      exitCode: AGENT_EXIT_CODES.DISK_FULL,
      reason: 'STORAGE_QUOTA_EXCEEDED',
      message: `the snapshot storage is full: ${(err as Error).message}`,
    };
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'EIO') {
    return {
      exitCode: AGENT_EXIT_CODES.UNEXPECTED,
      reason: 'STORAGE_WRITE_FAILED',
      message: `the snapshot file could not be written: ${(err as Error).message}`,
    };
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { exitCode: AGENT_EXIT_CODES.UNEXPECTED, reason: 'SNAPSHOT_FAILED', message };
}
