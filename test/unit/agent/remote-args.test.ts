// `agent upload` and `agent verify --remote`: the contract's builders read back, every bad flag a
// UsageError naming it, and S3 failures sorted into the catalog's object store reasons.
import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../../src/agent/args.ts';
import {
  AGENT_EXIT_CODES,
  ENCRYPTION_KEY_FILE_NAME,
  ENCRYPTION_KEY_MOUNT_PATH,
  REASON_BY_EXIT_CODE,
  STORE_CONFIG_MOUNT_PATH,
  uploadCommand,
  verifyRemoteCommand,
} from '../../../src/agent/contract.ts';
import { UsageError } from '../../../src/agent/failure.ts';
import { storeFailure } from '../../../src/agent/store-failure.ts';
import { ERROR_CATALOG } from '../../../src/csi/errors.ts';
import { EncryptionError } from '../../../src/objectstore/encryption.ts';

const remote = {
  storeConfigDir: STORE_CONFIG_MOUNT_PATH,
  namespace: 'prod',
  cluster: 'main',
  snapshot: 'snap-1',
  encryptionKeyFile: `${ENCRYPTION_KEY_MOUNT_PATH}/${ENCRYPTION_KEY_FILE_NAME}`,
};
const upload = {
  file: '/snapshots/snap-1/snapshot.db',
  ...remote,
  compression: 'zstd' as const,
  compressionLevel: 5,
  members: 'a=https://a:2380,b=https://b:2380',
  requestKind: 'group' as const,
  requestName: 'groupsnapcontent-1',
  groupSnapshotId: 'grp-abcdefghijklmnopqrst',
  volumeSnapshots:
    'grp-abcdefghijklmnopqrst-aaaaaaaaaaaa=prod/data-0,grp-abcdefghijklmnopqrst-bbbbbbbbbbbb=prod/data-1',
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

describe('upload and verify --remote arguments', () => {
  it('reads back what the contract builders write', () => {
    expect(parseAgentArgs(uploadCommand(upload).slice(1))).toMatchObject({
      operation: 'upload',
      args: upload,
    });
    const { encryptionKeyFile: _k, ...plain } = remote;
    expect(
      parseAgentArgs(uploadCommand({ file: upload.file, ...plain, compression: 'none' }).slice(1)),
    ).toMatchObject({
      operation: 'upload',
      args: { file: upload.file, ...plain, compression: 'none' },
    });
    expect(parseAgentArgs(verifyRemoteCommand(remote).slice(1))).toMatchObject({
      operation: 'verify-remote',
      args: remote,
    });
    const fetch = { ...remote, out: '/snapshots/restore-x/snapshot.db' };
    expect(parseAgentArgs(verifyRemoteCommand(fetch).slice(1))).toEqual({
      operation: 'verify-remote',
      args: fetch,
      terminationLog: expect.any(String),
    });
  });

  it.each([
    [
      [
        'upload',
        ...uploadCommand(upload)
          .slice(2)
          .filter((a) => !a.startsWith('--file')),
      ],
      '--file is required',
    ],
    [uploadCommand({ ...upload, compression: 'xz' as 'zstd' }).slice(1), '--compression="xz" is not one of'],
    [uploadCommand({ ...upload, compressionLevel: 30 }).slice(1), 'zstd level 30 is not in [1, 19]'],
    [uploadCommand({ ...upload, compression: 'none' }).slice(1), 'needs a compression'],
    [
      uploadCommand({ ...upload, namespace: 'Prod' }).slice(1),
      '--namespace "Prod" is not a Kubernetes object name',
    ],
    [
      uploadCommand({ ...upload, storeConfigDir: 'rel' }).slice(1),
      '--store-config-dir="rel" must be an absolute path',
    ],
    [uploadCommand({ ...upload, members: 'a:2380' }).slice(1), '--members: member "a:2380"'],
    [
      uploadCommand({ ...upload, volumeSnapshots: 'snap-a' }).slice(1),
      'volume snapshot "snap-a" is not SNAPSHOT_ID=SOURCE_VOLUME_ID',
    ],
    [uploadCommand({ ...upload, groupSnapshotId: 'grp/x' }).slice(1), '--group-snapshot-id="grp/x"'],
    [
      uploadCommand({ ...upload, requestName: undefined as unknown as string }).slice(1),
      '--request-kind and --request-name go together',
    ],
    [
      ['verify', '--remote', '--namespace=a', '--cluster=b', '--snapshot=c'],
      '--store-config-dir is required',
    ],
    [['verify', '--file=/x', `--store-config-dir=/s`], '--store-config-dir needs --remote'],
    [[...verifyRemoteCommand(remote).slice(1), '--file=/x'], 'takes --file or --remote, not both'],
    [verifyRemoteCommand({ ...remote, out: 'rel/snapshot.db' }).slice(1), '--out="rel/snapshot.db" must be'],
    [['verify', '--file=/x', '--out=/y'], '--out needs --remote'],
  ])('refuses %j', (argv, message) => {
    expect(usage(argv)).toContain(message);
  });
});

describe('storeFailure', () => {
  const reason = (err: unknown) => storeFailure(err, 'upload of s3://b/k').reason;
  const s3 = (name: string, status: number) =>
    Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status } });

  it('sorts S3 and network errors into the catalog reasons', () => {
    expect(reason(s3('InvalidAccessKeyId', 403))).toBe('OBJECT_STORE_AUTH_FAILED');
    expect(reason(s3('SignatureDoesNotMatch', 403))).toBe('OBJECT_STORE_AUTH_FAILED');
    expect(reason(s3('AccessDenied', 403))).toBe('OBJECT_STORE_AUTH_FAILED');
    expect(reason(s3('NoSuchBucket', 404))).toBe('OBJECT_STORE_BUCKET_NOT_FOUND');
    expect(reason(s3('NoSuchKey', 404))).toBe('OBJECT_STORE_NOT_FOUND');
    expect(reason(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      'OBJECT_STORE_UNREACHABLE',
    );
    expect(reason(s3('InternalError', 500))).toBe('OBJECT_STORE_REQUEST_FAILED');
    expect(reason(new EncryptionError('truncated', 'cut'))).toBe('SNAPSHOT_INCOMPLETE');
    expect(reason(new EncryptionError('corrupt', 'bad tag'))).toBe('CHECKSUM_MISMATCH');
    expect(reason(new EncryptionError('key', 'other key'))).toBe('OBJECT_STORE_KEY_INVALID');
  });

  it('names the request, the S3 code and the status, bounded', () => {
    const f = storeFailure(
      Object.assign(s3('SlowDown', 503), { message: 'x'.repeat(5000) }),
      'upload of s3://b/k',
    );
    expect(f.message).toMatch(/^upload of s3:\/\/b\/k: SlowDown \(HTTP 503\): x+…$/);
    expect(f.message.length).toBeLessThan(400);
    expect(f.exitCode).toBe(AGENT_EXIT_CODES.OBJECT_STORE_FAILED);
  });

  it('uses only catalogued reasons', () => {
    expect(Object.keys(ERROR_CATALOG)).toContain(REASON_BY_EXIT_CODE[AGENT_EXIT_CODES.OBJECT_STORE_FAILED]);
    for (const r of ['OBJECT_STORE_AUTH_FAILED', 'OBJECT_STORE_UNREACHABLE', 'OBJECT_STORE_KEY_INVALID'])
      expect(Object.keys(ERROR_CATALOG)).toContain(r);
  });
});
