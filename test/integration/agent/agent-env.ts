// Runs the agent as the Job does — a process with argv from contract.ts — and reads its outcome.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AgentResult, parseAgentResult } from '../../../src/agent/contract.ts';
import { PROJECT_ROOT, toolsBinDir } from '../../harness/tools.ts';

export interface AgentRun {
  code: number | null;
  result: AgentResult | undefined;
  terminationMessage: AgentResult | undefined;
  stderr: string;
  ms: number;
}

const NODE = join(PROJECT_ROOT, 'node_modules/.bin/node');
const ENTRY = join(PROJECT_ROOT, 'src/agent/process-entry.ts');

/** `etcd-snapshot-driver agent …` with etcdutl on PATH (as in the image) unless `withEtcdutl` is false. */
export function runAgentProcess(
  argv: string[],
  options: {
    terminationLog: string;
    withEtcdutl?: boolean;
    env?: NodeJS.ProcessEnv;
    /** A directory searched before the tools (a substitute etcdutl). */
    pathFirst?: string;
  },
): Promise<AgentRun> {
  const started = Date.now();
  const path = `${options.pathFirst ? `${options.pathFirst}:` : ''}${
    options.withEtcdutl === false ? '/usr/bin:/bin' : `${toolsBinDir()}:/usr/bin:/bin`
  }`;
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [ENTRY, ...argv, `--termination-log=${options.terminationLog}`], {
      env: { ...process.env, ...options.env, PATH: path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      let termination: string | undefined;
      try {
        termination = readFileSync(options.terminationLog, 'utf8');
      } catch {
        termination = undefined;
      }
      resolve({
        code,
        result: parseAgentResult(stdout.trim().split('\n').at(-1)),
        terminationMessage: parseAgentResult(termination),
        stderr,
        ms: Date.now() - started,
      });
    });
  });
}
