// `agent delete --remote`: the contract's builder read back (with and without the local --dir),
// and every bad flag a UsageError naming it; plain `agent delete` refuses the remote flags.
import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../../src/agent/args.ts';
import { deleteCommand, deleteRemoteCommand, STORE_CONFIG_MOUNT_PATH } from '../../../src/agent/contract.ts';
import { UsageError } from '../../../src/agent/failure.ts';

const remote = {
  storeConfigDir: STORE_CONFIG_MOUNT_PATH,
  namespace: 'prod',
  cluster: 'main',
  snapshot: 'snap-1',
};

function usage(argv: string[]): string {
  try {
    parseAgentArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

describe('delete --remote arguments', () => {
  it('reads back what the contract builder writes', () => {
    expect(parseAgentArgs(deleteRemoteCommand(remote).slice(1))).toEqual({
      operation: 'delete-remote',
      args: remote,
      terminationLog: '/dev/termination-log',
    });
    const both = { ...remote, dir: '/snapshots/snap-1' };
    expect(parseAgentArgs(deleteRemoteCommand(both).slice(1))).toMatchObject({
      operation: 'delete-remote',
      args: both,
    });
    expect(parseAgentArgs(deleteCommand({ dir: '/snapshots/a' }).slice(1))).toMatchObject({
      operation: 'delete',
      args: { dir: '/snapshots/a' },
    });
  });

  it.each([
    [
      ['delete', '--remote', '--namespace=a', '--cluster=b', '--snapshot=c'],
      '--store-config-dir is required',
    ],
    [[...deleteRemoteCommand(remote).slice(1), '--dir=rel'], '--dir="rel" must be an absolute path'],
    [
      deleteRemoteCommand({ ...remote, snapshot: 'Snap' }).slice(1),
      '--snapshot "Snap" is not a Kubernetes object name',
    ],
    [['delete', '--remote=yes', '--store-config-dir=/s'], '--remote takes no value'],
    [['delete', '--dir=/snapshots/a', '--store-config-dir=/s'], '--store-config-dir needs --remote'],
    [
      [...deleteRemoteCommand(remote).slice(1), '--encryption-key-file=/k'],
      'unknown flag --encryption-key-file',
    ],
  ])('refuses %j', (argv, message) => {
    expect(usage(argv)).toContain(message);
  });
});
