import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../../src/agent/args.ts';
import { type RestoreArguments, restoreCommand } from '../../../src/agent/contract.ts';
import { UsageError } from '../../../src/agent/failure.ts';

const restore: RestoreArguments = {
  mode: 'restore',
  file: '/snapshots/ns/rec/snapshot.db',
  sha256: 'ab'.repeat(32),
  dataDir: '/var/lib/etcd-member/data',
  uid: '0d3c1a2b-0000-4000-8000-000000000001',
  name: 'etcd-1',
  initialCluster: 'etcd-0=https://etcd-0.etcd:2380,etcd-1=https://etcd-1.etcd:2380',
  initialClusterToken: 'restore-0d3c1a2b-0000-4000-8000-000000000001',
  initialAdvertisePeerUrls: 'https://etcd-1.etcd:2380',
  bumpRevision: 1_000_000_000,
};

describe('agent restore argv', () => {
  it('reads back what restoreCommand writes, for every mode', () => {
    expect(parseAgentArgs(restoreCommand(restore).slice(1))).toMatchObject({
      operation: 'restore',
      args: restore,
    });
    for (const mode of ['rollback', 'drop-previous'] as const) {
      const args = { mode, dataDir: restore.dataDir, uid: restore.uid };
      expect(restoreCommand(args)).toContain(`--${mode}`);
      expect(parseAgentArgs(restoreCommand(args).slice(1))).toMatchObject({ operation: 'restore', args });
    }
    expect(
      parseAgentArgs(['restore', '--rollback=true', '--data-dir', '/d/data', '--uid', 'u1']),
    ).toMatchObject({ args: { mode: 'rollback', dataDir: '/d/data', uid: 'u1' } });
  });

  const argv = (changes: Record<string, string | undefined>) => {
    const flags = new Map(
      restoreCommand(restore)
        .slice(2)
        .map((a) => a.slice(2).split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) flags.delete(k);
      else flags.set(k, v);
    }
    return ['restore', ...[...flags].map(([k, v]) => `--${k}=${v}`)];
  };

  it.each<[Record<string, string | undefined>, RegExp]>([
    [{ sha256: undefined }, /--sha256 is required for agent restore/],
    [{ sha256: 'AB'.repeat(32) }, /--sha256="ABAB.*" is not 64 lowercase hex digits/],
    [{ 'data-dir': 'data' }, /--data-dir="data" must be an absolute path/],
    [{ 'data-dir': '/' }, /--data-dir="\/" must be an absolute path below \//],
    [{ uid: 'Not/A/Uid' }, /--uid="Not\/A\/Uid" is not a lowercase UID/],
    [{ name: 'etcd-9' }, /--name="etcd-9" is not a member of --initial-cluster=/],
    [
      { 'initial-advertise-peer-urls': 'https://etcd-0.etcd:2380' },
      /differs from "https:\/\/etcd-1.etcd:2380"/,
    ],
    [{ 'initial-advertise-peer-urls': 'etcd-1:2380' }, /"etcd-1:2380" is not a peer URL/],
    [
      { 'initial-cluster': 'etcd-1=https://a:2380,etcd-1=https://b:2380' },
      /--initial-cluster: member name "etcd-1" is listed twice/,
    ],
    [{ 'initial-cluster-token': 'a b' }, /--initial-cluster-token="a b" is not a token/],
    [{ 'bump-revision': '-5' }, /--bump-revision="-5" is not a non-negative whole number/],
    [{ rollback: 'yes' }, /--rollback="yes": want no value, true or false/],
    [{ rollback: 'true' }, /--file has no meaning with --rollback/],
    [{ rollback: 'true', 'drop-previous': 'true' }, /exclude each other/],
    [{ 'dial-timeout': '5' }, /unknown flag --dial-timeout for agent restore/],
  ])('refuses %j', (changes, message) => {
    expect(() => parseAgentArgs(argv(changes))).toThrow(UsageError);
    expect(() => parseAgentArgs(argv(changes))).toThrow(message);
  });

  it('keeps a huge value out of the message', () => {
    try {
      parseAgentArgs(argv({ uid: 'x'.repeat(100_000) }));
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(400);
      return;
    }
    throw new Error('no error');
  });
});
