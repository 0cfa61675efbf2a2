// The image's entrypoint (bin/etcd-snapshot-driver → src/main.ts) hands `agent …` to the agent:
// its exit codes and JSON result, not the driver's flag parsing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_EXIT_CODES, parseAgentResult } from '../../../src/agent/contract.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const BIN = join(PROJECT_ROOT, 'bin/etcd-snapshot-driver');

describe('etcd-snapshot-driver agent', () => {
  it('runs the agent: verify of a missing file is NOT_FOUND with a result in the termination message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-cli-'));
    const file = join(dir, 'rec', 'snapshot.db');
    const r = spawnSync(
      BIN,
      ['agent', 'verify', `--file=${file}`, `--termination-log=${join(dir, 'term')}`],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(AGENT_EXIT_CODES.NOT_FOUND);
    const result = parseAgentResult(readFileSync(join(dir, 'term'), 'utf8'));
    expect(result).toMatchObject({
      operation: 'verify',
      ok: false,
      file,
      error: { reason: 'SNAPSHOT_STATUS_FAILED' },
    });
    expect(parseAgentResult(r.stdout.trim())).toEqual(result);
  });

  it('answers a bad agent command line with exit 2 and the agent usage', () => {
    const r = spawnSync(BIN, ['agent', 'save', '--file=/x'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(AGENT_EXIT_CODES.USAGE);
    expect(r.stderr).toContain('flag --endpoints is required for agent save');
    expect(r.stderr).toContain('etcd-snapshot-driver agent verify --file=PATH');
  });
});
