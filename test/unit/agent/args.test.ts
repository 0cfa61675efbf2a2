import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../../src/agent/args.ts';
import {
  deleteCommand,
  saveCommand,
  TERMINATION_MESSAGE_PATH,
  verifyCommand,
} from '../../../src/agent/contract.ts';
import { UsageError } from '../../../src/agent/failure.ts';

describe('parseAgentArgs', () => {
  it('reads back what the contract builders write', () => {
    const save = {
      endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'],
      file: '/snapshots/ns/rec/snapshot.db',
      snapshotId: 'snap-1',
      credentialsDir: '/etc/etcd-snapshot-driver/credentials',
      minFreeBytes: 1024,
      dialTimeoutSeconds: 7,
    };
    expect(parseAgentArgs(saveCommand(save).slice(1))).toEqual({
      operation: 'save',
      args: save,
      terminationLog: TERMINATION_MESSAGE_PATH,
    });
    expect(parseAgentArgs(verifyCommand({ file: '/snapshots/a/snapshot.db' }).slice(1))).toMatchObject({
      operation: 'verify',
      args: { file: '/snapshots/a/snapshot.db' },
    });
    expect(parseAgentArgs(deleteCommand({ dir: '/snapshots/a' }).slice(1))).toMatchObject({
      operation: 'delete',
      args: { dir: '/snapshots/a' },
    });
  });

  it('reads back endpoints with TLS server names and the mounted Secret’s name', () => {
    const save = {
      endpoints: ['https://10.0.0.1:2379?tls-server-name=demo-0.demo.etcd.svc', 'https://10.0.0.2:2379'],
      file: '/snapshots/ns/rec/snapshot.db',
      snapshotId: 'snap-1',
      credentialsDir: '/etc/etcd-snapshot-driver/credentials',
      credentialsSecret: 'etcd/demo-tls',
      caSecret: 'etcd/demo-ca:bundle.crt',
    };
    expect(parseAgentArgs(saveCommand(save).slice(1))).toMatchObject({ operation: 'save', args: save });
  });

  it.each([
    [
      '--endpoints=https://10.0.0.1:2379?tls-server-name=a_b',
      /--endpoints: "https:\/\/10\.0\.0\.1:2379\?tls-server-name=a_b" is not an etcd client URL/,
    ],
    ['--credentials-secret=no-slash', /--credentials-secret="no-slash" is not NAMESPACE\/NAME/],
    ['--ca-secret=etcd/demo-ca', /--ca-secret="etcd\/demo-ca" is not NAMESPACE\/NAME:KEY/],
  ])('refuses %s', (flag, message) => {
    const base = ['save', '--endpoints=https://10.0.0.1:2379', '--file=/a', '--snapshot-id=s'];
    const argv = flag.startsWith('--endpoints')
      ? [...base.filter((a) => !a.startsWith('--endpoints')), flag]
      : [...base, flag];
    expect(() => parseAgentArgs(argv)).toThrow(message);
  });

  it('takes "--flag value" and --termination-log', () => {
    expect(parseAgentArgs(['verify', '--file', '/x/snapshot.db', '--termination-log=/tmp/t'])).toEqual({
      operation: 'verify',
      args: { file: '/x/snapshot.db' },
      terminationLog: '/tmp/t',
    });
  });

  it.each([
    [['compact'], /unknown agent operation "compact"/],
    [['restore'], /--data-dir is required for agent restore/],
    [[], /unknown agent operation ""/],
    [['save', '--file=/a', '--snapshot-id=s'], /--endpoints is required/],
    [
      ['save', '--endpoints=http://a:2379', '--file=rel/path', '--snapshot-id=s'],
      /--file="rel\/path" must be an absolute path/,
    ],
    [
      ['save', '--endpoints=http://a:2379', '--file=/a', '--snapshot-id=s', '--min-free-bytes=-1'],
      /--min-free-bytes="-1"/,
    ],
    [
      ['save', '--endpoints=http://a:2379', '--file=/a', '--snapshot-id=s', '--dial-timeout=0'],
      /--dial-timeout="0"/,
    ],
    [
      ['save', '--endpoints=http://a/b/c', '--file=/a', '--snapshot-id=s'],
      /"http:\/\/a\/b\/c" is not an etcd client URL/,
    ],
    [['verify', '--file=/a', '--endpoints=x'], /unknown flag --endpoints for agent verify/],
    [['verify', '--file=/a', '--file=/b'], /--file is given twice/],
    [['delete', 'stray'], /unexpected argument "stray"/],
    [['delete', '--dir'], /--dir needs a value/],
  ])('%j → %s', (argv, message) => {
    expect(() => parseAgentArgs(argv)).toThrow(UsageError);
    expect(() => parseAgentArgs(argv)).toThrow(message);
  });
});
