// Every request the health check makes to a real etcd reaches its call observer (the driver's
// etcd_operation_* metrics), failed TLS and Authenticate handshakes included, and a cluster with
// 2 of 3 members down is judged with its counts (the health gauges): 1 up, 2 down.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdCall } from '../../../src/etcd/client/call-observer.ts';
import { credentialsFromDir, type EtcdCredentials, NO_CREDENTIALS } from '../../../src/etcd/credentials.ts';
import { ClusterUnhealthyError, type EtcdError } from '../../../src/etcd/errors.ts';
import { checkClusterHealth } from '../../../src/etcd/health.ts';
import { type EtcdProcessCluster, startEtcdProcessCluster } from '../../harness/etcd-processes.ts';
import { createPki } from '../../harness/pki.ts';

/** Runs a check with a recording observer; returns the calls and the check's error, if any. */
async function observed(endpoints: string[], credentials: EtcdCredentials, timeoutMs = 5000) {
  const calls: EtcdCall[] = [];
  let error: unknown;
  await checkClusterHealth(endpoints, credentials, { timeoutMs, onCall: (c) => calls.push(c) }).catch(
    (e: unknown) => {
      error = e;
    },
  );
  const summary = calls.map((c) => `${c.operation}:${c.error ? (c.error as EtcdError).reason : 'ok'}`);
  return { calls, error, summary };
}

describe('client-certificate TLS', () => {
  let cluster: EtcdProcessCluster;
  let good: EtcdCredentials;
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 1, auth: 'tls' });
    good = await credentialsFromDir(cluster.credentialsDir as string);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('a healthy check: Status (the connecting one and the real one) and MemberList, each timed', async () => {
    const { calls, error, summary } = await observed(cluster.endpoints, good);
    expect(error).toBeUndefined();
    expect(summary).toEqual(['status:ok', 'status:ok', 'member_list:ok']);
    for (const c of calls) {
      expect(c.endpoint).toBe(cluster.endpoints[0]);
      expect(c.seconds).toBeGreaterThan(0);
      expect(c.seconds).toBeLessThan(5);
    }
  });

  it('a client certificate of another CA: the failed handshake is a failed status request', async () => {
    const other = createPki(join(cluster.dir, 'observer-other-pki'));
    const pair = other.issue('intruder', { commonName: 'root', usage: 'client' });
    const bad: EtcdCredentials = {
      kind: 'tls',
      ca: readFileSync(cluster.clientTls?.ca as string),
      cert: readFileSync(pair.certFile),
      key: readFileSync(pair.keyFile),
    };
    const { error, summary } = await observed(cluster.endpoints, bad);
    expect((error as EtcdError).reason).toBe('AUTH_CERT_INVALID');
    expect(summary).toEqual(['status:AUTH_CERT_INVALID']);
  });

  it('a server certificate the given CA did not sign: a failed status request too', async () => {
    const other = createPki(join(cluster.dir, 'observer-other-ca'));
    if (good.kind !== 'tls') throw new Error('tls credentials expected');
    const { error, summary } = await observed(cluster.endpoints, {
      ...good,
      ca: readFileSync(other.ca.certFile),
    });
    expect((error as EtcdError).reason).toBe('AUTH_CERT_INVALID');
    expect(summary).toEqual(['status:AUTH_CERT_INVALID']);
  });
});

describe('user and password', () => {
  let cluster: EtcdProcessCluster;
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 1, auth: 'basic' });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('the right password: Authenticate, then Status and MemberList', async () => {
    const creds = await credentialsFromDir(cluster.credentialsDir as string);
    const { error, summary } = await observed(cluster.endpoints, creds);
    expect(error).toBeUndefined();
    expect(summary).toEqual(['authenticate:ok', 'status:ok', 'member_list:ok']);
  });

  it('a wrong password: the refused Authenticate is a failed authenticate request', async () => {
    const bad: EtcdCredentials = { kind: 'basic', username: 'root', password: 'not-the-Password-42' };
    const { error, summary } = await observed(cluster.endpoints, bad);
    expect((error as EtcdError).reason).toBe('AUTH_BASIC_INVALID');
    expect(summary).toEqual(['authenticate:AUTH_BASIC_INVALID']);
  });
});

describe('a 3-member cluster losing 2 members', () => {
  let cluster: EtcdProcessCluster;
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('healthy: no error, one Status per member and a MemberList', async () => {
    const { error, calls } = await observed(cluster.endpoints, NO_CREDENTIALS);
    expect(error).toBeUndefined();
    expect(calls.filter((c) => c.operation === 'status' && !c.error)).toHaveLength(6);
    expect(calls.filter((c) => c.operation === 'member_list' && !c.error)).toHaveLength(1);
  });

  it('2 of 3 down: ETCD_QUORUM_LOST counting 1 up and 2 down; the stopped members are failed requests', async () => {
    await cluster.stopMember(1);
    await cluster.stopMember(2);
    const { error, calls } = await observed(cluster.endpoints, NO_CREDENTIALS);
    expect(error).toBeInstanceOf(ClusterUnhealthyError);
    expect(error).toMatchObject({ reason: 'ETCD_QUORUM_LOST', members: { up: 1, down: 2 } });
    const failed = calls.filter((c) => c.error).map((c) => c.endpoint);
    expect(new Set(failed)).toEqual(new Set(cluster.endpoints.slice(1)));
    expect(calls.filter((c) => c.endpoint === cluster.endpoints[0] && !c.error).length).toBeGreaterThan(0);
  });
});
