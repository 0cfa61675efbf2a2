// A slow etcd is not a lost quorum, against real etcd processes (user and password, so every
// client's first call is Authenticate). A member is paused with SIGSTOP right after it answered
// Authenticate: its connection stays up and takes the Status call, and no answer comes, as an
// overloaded machine's members answer too late. The check says DEADLINE_EXCEEDED
// (ClusterSlowError) while a quorum of members is connected, and passes again after SIGCONT.
// Members paused before any connection give "Waiting for LB pick" (grpc-js waits for the HTTP/2
// handshake): no connection, so ETCD_ENDPOINTS_UNREACHABLE, which the pipeline also waits on.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFromDir, type EtcdCredentials } from '../../../src/etcd/credentials.ts';
import { ClusterSlowError, EtcdError } from '../../../src/etcd/errors.ts';
import { checkClusterHealth } from '../../../src/etcd/health.ts';
import { type EtcdProcessCluster, startEtcdProcessCluster } from '../../harness/etcd-processes.ts';
import { waitFor } from '../../harness/process.ts';

async function errorOf(p: Promise<unknown>): Promise<EtcdError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof EtcdError) return err;
    throw err;
  }
  throw new Error('expected the check to fail');
}

describe('checkClusterHealth with members paused after they took the connection', () => {
  let cluster: EtcdProcessCluster;
  let creds: EtcdCredentials;
  const paused = new Set<number>();
  const resumeAll = () => {
    for (const i of paused) cluster.resumeMember(i);
    paused.clear();
  };
  /** A check that pauses the members at `which` once each has answered Authenticate. */
  const checkPausing = (which: number[]) =>
    checkClusterHealth(cluster.endpoints, creds, {
      timeoutMs: 3000,
      onCall: (c) => {
        const i = cluster.endpoints.indexOf(c.endpoint);
        if (c.operation === 'authenticate' && c.error === undefined && which.includes(i) && !paused.has(i)) {
          cluster.pauseMember(i);
          paused.add(i);
        }
      },
    });
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 3, auth: 'basic' });
    creds = await credentialsFromDir(cluster.credentialsDir as string);
  });
  afterEach(async () => {
    resumeAll();
    await cluster.waitHealthy(30_000);
  });
  afterAll(async () => {
    if (cluster) resumeAll();
    await cluster?.stop();
  });

  it('every member connected, none answers Status in time: slow, not quorum lost; healthy after SIGCONT', async () => {
    const started = Date.now();
    const err = await errorOf(checkPausing([0, 1, 2]));
    expect(paused.size).toBe(3);
    expect(err).toBeInstanceOf(ClusterSlowError);
    expect(err.reason).toBe('DEADLINE_EXCEEDED');
    expect(err.message).toMatch(/^etcd members answer too slowly: .*remote_addr=/);
    // The check ends by its own deadline, not when the members wake.
    expect(Date.now() - started).toBeLessThan(15_000);

    resumeAll();
    await waitFor(
      'the resumed cluster to pass the health check',
      async () => (await checkClusterHealth(cluster.endpoints, creds).catch(() => undefined))?.hasQuorum,
      { timeoutMs: 30_000 },
    );
  });

  it('two members connected but silent, one answering: slow, since a quorum is connected', async () => {
    const err = await errorOf(checkPausing([1, 2]));
    expect(paused.size).toBe(2);
    expect(err).toBeInstanceOf(ClusterSlowError);
    expect(err.message).toMatch(/1 of 3 answered in time, 2 took the call without answering/);
  });
});
