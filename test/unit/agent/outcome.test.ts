// Exit codes, the termination message, the free-space rule and the choice of source members.
import { describe, expect, it } from 'vitest';
import { AGENT_EXIT_CODES, REASON_BY_EXIT_CODE } from '../../../src/agent/contract.ts';
import { AgentFailure, classifyFailure } from '../../../src/agent/failure.ts';
import { TERMINATION_MESSAGE_LIMIT, terminationMessage } from '../../../src/agent/result-output.ts';
import { checkFreeSpace, sourceOrder } from '../../../src/agent/save.ts';
import { EtcdError, type EtcdErrorReason } from '../../../src/etcd/errors.ts';
import type { ClusterHealth } from '../../../src/etcd/health.ts';

describe('classifyFailure', () => {
  it.each<[EtcdErrorReason, number]>([
    ['AUTH_CERT_INVALID', AGENT_EXIT_CODES.AUTH_FAILED],
    ['AUTH_CERT_NOT_FOUND', AGENT_EXIT_CODES.AUTH_FAILED],
    ['AUTH_PERMISSION_DENIED', AGENT_EXIT_CODES.AUTH_FAILED],
    ['AUTH_BASIC_INVALID', AGENT_EXIT_CODES.AUTH_FAILED],
    ['ETCD_ENDPOINTS_UNREACHABLE', AGENT_EXIT_CODES.UNREACHABLE],
    ['ETCD_QUORUM_LOST', AGENT_EXIT_CODES.QUORUM_LOST],
    ['ETCD_NO_LEADER', AGENT_EXIT_CODES.QUORUM_LOST],
    ['SNAPSHOT_INCOMPLETE', AGENT_EXIT_CODES.CORRUPT_STREAM],
    ['CHECKSUM_MISMATCH', AGENT_EXIT_CODES.CORRUPT_STREAM],
    ['SNAPSHOT_FAILED', AGENT_EXIT_CODES.UNEXPECTED],
  ])('%s → exit %i, reason kept', (reason, code) => {
    expect(classifyFailure(new EtcdError(reason, 'x'))).toEqual({ exitCode: code, reason, message: 'x' });
  });

  it('keeps the reason of each exit code consistent with REASON_BY_EXIT_CODE where the contract names one', () => {
    for (const reason of ['ETCD_ENDPOINTS_UNREACHABLE', 'ETCD_QUORUM_LOST', 'SNAPSHOT_INCOMPLETE'] as const) {
      const { exitCode } = classifyFailure(new EtcdError(reason, 'x'));
      expect(REASON_BY_EXIT_CODE[exitCode]).toBe(reason);
    }
  });

  it('turns a full disk into DISK_FULL and anything else into UNEXPECTED without a stack', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(classifyFailure(enospc)).toMatchObject({
      exitCode: AGENT_EXIT_CODES.DISK_FULL,
      reason: 'STORAGE_QUOTA_EXCEEDED',
    });
    const odd = classifyFailure(new TypeError('boom'));
    expect(odd).toEqual({
      exitCode: AGENT_EXIT_CODES.UNEXPECTED,
      reason: 'SNAPSHOT_FAILED',
      message: 'TypeError: boom',
    });
    expect(
      classifyFailure(new AgentFailure(AGENT_EXIT_CODES.NOT_FOUND, 'SNAPSHOT_STATUS_FAILED', 'gone'))
        .exitCode,
    ).toBe(15);
  });
});

describe('terminationMessage', () => {
  it('fits the kubelet limit by shortening the error message, and stays JSON', () => {
    const text = terminationMessage({
      operation: 'save',
      ok: false,
      snapshotId: 's',
      error: { reason: 'SNAPSHOT_FAILED', message: 'x'.repeat(10_000) },
    });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(TERMINATION_MESSAGE_LIMIT);
    expect(JSON.parse(text)).toMatchObject({
      ok: false,
      snapshotId: 's',
      error: { reason: 'SNAPSHOT_FAILED' },
    });
  });
});

describe('checkFreeSpace', () => {
  it('wants --min-free-bytes and 1.1 × the database, naming the bytes', () => {
    expect(checkFreeSpace(1000, 900, undefined)).toBeUndefined();
    expect(checkFreeSpace(989, 900, undefined)).toBe(
      'the snapshot storage has 989 bytes free; the 900-byte database needs 990 (×1.1)',
    );
    expect(checkFreeSpace(5000, 10, 6000)).toBe(
      'the snapshot storage has 5000 bytes free; --min-free-bytes requires 6000',
    );
  });
});

describe('sourceOrder', () => {
  const health = (source: string): ClusterHealth => ({
    members: [
      {
        id: 'a',
        name: 'a',
        clientUrls: [],
        endpoint: 'e1',
        reachable: true,
        isLeader: true,
        isLearner: false,
      },
      {
        id: 'b',
        name: 'b',
        clientUrls: [],
        endpoint: 'e2',
        reachable: true,
        isLeader: false,
        isLearner: false,
      },
      {
        id: 'c',
        name: 'c',
        clientUrls: [],
        endpoint: 'e3',
        reachable: true,
        isLeader: false,
        isLearner: false,
      },
      {
        id: 'd',
        name: 'd',
        clientUrls: [],
        endpoint: 'e4',
        reachable: false,
        isLeader: false,
        isLearner: false,
      },
    ],
    memberCount: 4,
    reachableCount: 3,
    hasQuorum: true,
    leaderId: 'a',
    source,
    dbSizeBytes: 1,
    revision: 1,
  });
  it('starts with the first endpoint when it is healthy (leader or not), then followers, then the leader', () => {
    expect(sourceOrder(['e1', 'e2'], health('e2'))).toEqual(['e1', 'e2', 'e3']);
    expect(sourceOrder(['e3'], health('e2'))).toEqual(['e3', 'e2', 'e1']);
  });
  it("takes the check's choice when the first endpoint is down", () => {
    expect(sourceOrder(['e4', 'e1'], health('e2'))).toEqual(['e2', 'e3', 'e1']);
  });
});
