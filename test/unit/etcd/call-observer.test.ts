// observeCall: what the etcd_operation_* metrics are fed from every request of an EtcdClient.
import { describe, expect, it } from 'vitest';
import { type EtcdCall, etcdOperation, observeCall } from '../../../src/etcd/client/call-observer.ts';
import { EtcdError } from '../../../src/etcd/errors.ts';

const what = (service: string, method: string, signal?: AbortSignal) => ({
  service,
  method,
  endpoint: 'http://10.0.0.1:2379',
  signal,
});

describe('observeCall', () => {
  it('reports a success with its operation name and duration in seconds', async () => {
    const calls: EtcdCall[] = [];
    const value = await observeCall((c) => calls.push(c), what('Cluster', 'MemberList'), Promise.resolve(7));
    expect(value).toBe(7);
    expect(calls).toEqual([
      { operation: 'member_list', endpoint: 'http://10.0.0.1:2379', seconds: expect.any(Number) },
    ]);
    expect(calls[0]!.seconds).toBeGreaterThanOrEqual(0);
    expect(calls[0]!.seconds).toBeLessThan(5);
  });

  it('reports a failure with its error and rethrows it unchanged', async () => {
    const calls: EtcdCall[] = [];
    const refused = new EtcdError('AUTH_BASIC_INVALID', 'wrong password');
    await expect(
      observeCall((c) => calls.push(c), what('Auth', 'Authenticate'), Promise.reject(refused)),
    ).rejects.toBe(refused);
    expect(calls).toMatchObject([{ operation: 'authenticate', error: refused }]);
  });

  it('does not report a request its caller cancelled', async () => {
    const calls: EtcdCall[] = [];
    const controller = new AbortController();
    controller.abort(new Error('reconcile ended'));
    await expect(
      observeCall(
        (c) => calls.push(c),
        what('Maintenance', 'Status', controller.signal),
        Promise.reject(new Error('cancelled')),
      ),
    ).rejects.toThrow('cancelled');
    expect(calls).toEqual([]);
  });

  it('an observer that throws does not fail the request', async () => {
    const observer = () => {
      throw new Error('broken metrics');
    };
    await expect(observeCall(observer, what('Maintenance', 'Status'), Promise.resolve('ok'))).resolves.toBe(
      'ok',
    );
  });

  it('names a closed set of operations: anything unknown is `other`', () => {
    expect(
      [
        ['Maintenance', 'Status'],
        ['Maintenance', 'Snapshot'],
        ['Maintenance', 'Alarm'],
        ['Cluster', 'MemberList'],
        ['Auth', 'Authenticate'],
        ['KV', 'Range'],
        ['KV', 'Put'],
        ['KV', 'DeleteRange'],
      ].map(([s, m]) => etcdOperation(s!, m!)),
    ).toEqual(['status', 'snapshot', 'alarm', 'member_list', 'authenticate', 'range', 'put', 'other']);
  });
});
