// Credentials against real etcd: client-certificate TLS and user/password clusters accept the
// right credentials and turn wrong ones into the catalog's AUTH_* reasons.
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../../src/etcd/client/etcd-client.ts';
import { credentialsFromDir, type EtcdCredentials, NO_CREDENTIALS } from '../../../src/etcd/credentials.ts';
import { EtcdError } from '../../../src/etcd/errors.ts';
import { checkClusterHealth } from '../../../src/etcd/health.ts';
import { type EtcdProcessCluster, startEtcdProcessCluster } from '../../harness/etcd-processes.ts';
import { createPki } from '../../harness/pki.ts';

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof EtcdError) return err.reason;
    throw err;
  }
  throw new Error('expected a failure');
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

  it('is healthy with the right certificate', async () => {
    expect((await checkClusterHealth(cluster.endpoints, good)).reachableCount).toBe(1);
  });

  it('AUTH_CERT_INVALID for a client certificate of another CA', async () => {
    const other = createPki(join(cluster.dir, 'other-pki'));
    const pair = other.issue('intruder', { commonName: 'root', usage: 'client' });
    const bad: EtcdCredentials = {
      kind: 'tls',
      ca: readFileSync(cluster.clientTls?.ca as string),
      cert: readFileSync(pair.certFile),
      key: readFileSync(pair.keyFile),
    };
    expect(await reasonOf(checkClusterHealth(cluster.endpoints, bad))).toBe('AUTH_CERT_INVALID');
  });

  it('AUTH_CERT_INVALID when the server certificate is not signed by the given CA', async () => {
    const other = createPki(join(cluster.dir, 'other-ca'));
    if (good.kind !== 'tls') throw new Error('tls credentials expected');
    const bad: EtcdCredentials = { ...good, ca: readFileSync(other.ca.certFile) };
    expect(await reasonOf(checkClusterHealth(cluster.endpoints, bad))).toBe('AUTH_CERT_INVALID');
  });
});

// What etcd-druid, the common charts and cert-manager issue: serving certificates that name the
// members' DNS names and no IP. The driver dials the IP (it may have no cluster DNS) and checks
// the name the endpoint carries.
describe('client TLS with server certificates that carry DNS names only', () => {
  let cluster: EtcdProcessCluster;
  let good: EtcdCredentials;
  const byIp = () => cluster.endpoints.map((e) => e.replace(/\?.*$/, ''));
  async function failure(p: Promise<unknown>): Promise<EtcdError> {
    try {
      await p;
    } catch (err) {
      if (err instanceof EtcdError) return err;
      throw err;
    }
    throw new Error('expected a failure');
  }
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 3, auth: 'tls', serverNames: 'dns' });
    good = await credentialsFromDir(cluster.credentialsDir as string, 'etcd/demo-tls');
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('is healthy and snapshots when each endpoint carries its member’s DNS name', async () => {
    expect(cluster.endpoints[0]).toMatch(/^https:\/\/[\d.]+:2379\?tls-server-name=m0\.etcd\.test$/);
    expect((await checkClusterHealth(cluster.endpoints, good)).reachableCount).toBe(3);
    const client = new EtcdClient(cluster.endpoints[1] as string, { credentials: good });
    let bytes = 0;
    for await (const m of client.snapshot()) bytes += m.blobBytes;
    client.close();
    expect(bytes).toBeGreaterThan(32);
  });

  it('dialled by IP without the name: AUTH_CERT_INVALID saying what the certificate names', async () => {
    const e = await failure(checkClusterHealth(byIp().slice(0, 1), good));
    expect(e.reason).toBe('AUTH_CERT_INVALID');
    expect(e.message).toContain(
      `does not name ${byIp()[0]!.replace(/^https:\/\/|:2379$/g, '')}; it names DNS:m0.etcd.test`,
    );
    expect(e.message).not.toMatch(/use-system-ca|Resolution note/);
  });

  it('a name the certificate does not carry is refused', async () => {
    const wrong = `${byIp()[0]}?tls-server-name=m1.etcd.test`;
    const e = await failure(checkClusterHealth([wrong], good));
    expect(e.reason).toBe('AUTH_CERT_INVALID');
    expect(e.message).toContain('does not name m1.etcd.test; it names DNS:m0.etcd.test');
  });

  it('a CA that did not sign the members: the message names the member and the Secret, not Node’s hint', async () => {
    const other = createPki(join(cluster.dir, 'other-ca'));
    const dir = join(cluster.dir, 'other-ca-credentials');
    mkdirSync(dir);
    for (const f of ['tls.crt', 'tls.key']) cpSync(join(cluster.credentialsDir as string, f), join(dir, f));
    cpSync(other.ca.certFile, join(dir, 'ca.crt'));
    const bad = await credentialsFromDir(dir, 'etcd/demo-tls');
    const e = await failure(checkClusterHealth(cluster.endpoints.slice(0, 1), bad));
    expect(e.reason).toBe('AUTH_CERT_INVALID');
    expect(e.message).toContain(
      `server certificate of etcd member m0.etcd.test (${byIp()[0]!.replace(/^https:\/\//, '')}) is not signed by ca.crt of Secret etcd/demo-tls`,
    );
    expect(e.message).not.toMatch(/use-system-ca|Resolution note/);
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

  it('is healthy and can snapshot with the right password', async () => {
    const creds = await credentialsFromDir(cluster.credentialsDir as string);
    expect(creds.kind).toBe('basic');
    expect((await checkClusterHealth(cluster.endpoints, creds)).reachableCount).toBe(1);
    const client = new EtcdClient(cluster.endpoints[0] as string, { credentials: creds });
    let bytes = 0;
    for await (const m of client.snapshot()) bytes += m.blobBytes;
    client.close();
    expect(bytes).toBeGreaterThan(32);
  });

  it('AUTH_BASIC_INVALID for a wrong password, and the password is in no message', async () => {
    const bad: EtcdCredentials = { kind: 'basic', username: 'root', password: 'not-the-Password-42' };
    let error: unknown;
    await checkClusterHealth(cluster.endpoints, bad).catch((e: unknown) => {
      error = e;
    });
    expect(error).toBeInstanceOf(EtcdError);
    expect((error as EtcdError).reason).toBe('AUTH_BASIC_INVALID');
    expect(String((error as Error).message)).not.toContain('not-the-Password-42');
  });

  it('AUTH_PERMISSION_DENIED without credentials on a cluster with authentication on', async () => {
    expect(await reasonOf(checkClusterHealth(cluster.endpoints, NO_CREDENTIALS))).toBe(
      'AUTH_PERMISSION_DENIED',
    );
  });

  it('AUTH_PERMISSION_DENIED for a user without the root role', async () => {
    await cluster.etcdctl(['user', 'add', 'reader:reader-pass-1']);
    const reader: EtcdCredentials = { kind: 'basic', username: 'reader', password: 'reader-pass-1' };
    const client = new EtcdClient(cluster.endpoints[0] as string, { credentials: reader });
    const consume = async () => {
      for await (const _ of client.snapshot()) {
        // drain
      }
    };
    try {
      expect(await reasonOf(consume())).toBe('AUTH_PERMISSION_DENIED');
    } finally {
      client.close();
    }
  });
});

describe('user and password on a 3-member cluster', () => {
  let cluster: EtcdProcessCluster;
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 3, auth: 'basic' });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('says ETCD_QUORUM_LOST (not unreachable) with 2 of 3 down, though Authenticate hangs', async () => {
    const creds = await credentialsFromDir(cluster.credentialsDir as string);
    expect((await checkClusterHealth(cluster.endpoints, creds)).reachableCount).toBe(3);
    await cluster.stopMember(1);
    await cluster.stopMember(2);
    // The verdict rests on member 0 having taken the Authenticate call (grpc-js names its
    // remote_addr) before the deadline. With 3 s, a run on a loaded machine once hit the deadline
    // still waiting for the connection and read "unreachable"; 8 s leaves the loopback connect
    // ample room, and the check must still end by its own deadline, not hang.
    const started = Date.now();
    expect(await reasonOf(checkClusterHealth(cluster.endpoints, creds, { timeoutMs: 8000 }))).toBe(
      'ETCD_QUORUM_LOST',
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
