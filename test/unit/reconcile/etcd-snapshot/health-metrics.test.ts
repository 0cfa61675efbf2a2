// CheckHealth feeds the etcd health families from every check: the counts of a healthy cluster,
// the counts of an unhealthy one (the check throws, the gauges still read 0 quorum), and each
// request the check made to etcd. A credential failure leaves the health gauges alone.
import { describe, expect, it } from 'vitest';
import { ClusterUnhealthyError, EtcdError } from '../../../../src/etcd/errors.ts';
import type { HealthChecker } from '../../../../src/reconcile/etcd-snapshot/ports.ts';
import { FakeWorld, healthy, makeReconciler } from './fakes.ts';

const callsNamed = (m: ReturnType<typeof makeReconciler>['metrics'], name: string) =>
  m.calls.filter((c) => c.name === name).map((c) => c.args);

describe('pipeline reconciler: etcd health metrics', () => {
  it('a healthy check reports members up and down from its counts', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run, metrics } = makeReconciler(w, async () => ({
      ...healthy,
      memberCount: 3,
      reachableCount: 2,
    }));
    await run('r1');
    expect(callsNamed(metrics, 'clusterHealth')).toEqual([['etcd/main', { up: 2, down: 1 }, true]]);
  });

  it('2 of 3 members down: the check throws, and the gauges still read 1 up, 2 down, no quorum', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run, metrics } = makeReconciler(w, async () => {
      throw new ClusterUnhealthyError('ETCD_QUORUM_LOST', '1 of 3 etcd members answer', { up: 1, down: 2 });
    });
    await run('r1');
    expect(w.record('r1').status).toMatchObject({ phase: 'Failed', reason: 'ETCD_QUORUM_LOST' });
    expect(callsNamed(metrics, 'clusterHealth')).toEqual([['etcd/main', { up: 1, down: 2 }, false]]);
  });

  it('nothing answers (transient): each check reports no quorum while the record waits', async () => {
    const w = new FakeWorld();
    w.addRecord('r1', { created: '2026-01-01T00:00:00Z' });
    const { run, metrics } = makeReconciler(
      w,
      async () => {
        throw new ClusterUnhealthyError('ETCD_ENDPOINTS_UNREACHABLE', 'no etcd endpoint answered', {
          up: 0,
          down: 3,
        });
      },
      () => new Date('2026-01-01T00:00:10Z'),
    );
    expect(await run('r1')).toEqual({ requeueAfter: expect.any(Number) });
    expect(await run('r1')).toEqual({ requeueAfter: expect.any(Number) });
    expect(callsNamed(metrics, 'clusterHealth')).toEqual([
      ['etcd/main', { up: 0, down: 3 }, false],
      ['etcd/main', { up: 0, down: 3 }, false],
    ]);
  });

  it('refused credentials do not touch the health gauges', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run, metrics } = makeReconciler(w, async () => {
      throw new EtcdError('AUTH_CERT_INVALID', 'certificate signed by unknown authority');
    });
    await run('r1');
    expect(w.record('r1').status).toMatchObject({ phase: 'Failed', reason: 'AUTH_CERT_INVALID' });
    expect(callsNamed(metrics, 'clusterHealth')).toEqual([]);
  });

  it("every request the check makes is reported with the record's cluster, failures as not ok", async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const check: HealthChecker = async (_endpoints, _credentials, options) => {
      options.onCall?.({ operation: 'status', endpoint: 'http://10.0.0.1:2379', seconds: 0.004 });
      options.onCall?.({
        operation: 'authenticate',
        endpoint: 'http://10.0.0.2:2379',
        seconds: 0.01,
        error: new EtcdError('AUTH_BASIC_INVALID', 'wrong password'),
      });
      options.onCall?.({ operation: 'member_list', endpoint: 'http://10.0.0.1:2379', seconds: 0.002 });
      return healthy;
    };
    const { run, metrics } = makeReconciler(w, check);
    await run('r1');
    expect(callsNamed(metrics, 'etcdRequest')).toEqual([
      ['etcd/main', 'status', 0.004, true],
      ['etcd/main', 'authenticate', 0.01, false],
      ['etcd/main', 'member_list', 0.002, true],
    ]);
  });
});
