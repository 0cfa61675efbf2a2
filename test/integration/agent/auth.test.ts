// The agent with credentials mounted as the Job mounts the Secret (one file per key): client-
// certificate TLS and user/password clusters save; wrong credentials end with AUTH_FAILED and the
// catalog reason, and no secret reaches the output.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_EXIT_CODES, saveCommand } from '../../../src/agent/contract.ts';
import { type EtcdProcessCluster, startEtcdProcessCluster } from '../../harness/etcd-processes.ts';
import { createPki } from '../../harness/pki.ts';
import { runAgentProcess } from './agent-env.ts';

describe('agent save with client-certificate TLS', () => {
  let cluster: EtcdProcessCluster;
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 1, auth: 'tls' });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('saves with the mounted certificate', async () => {
    const run = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 'snapshots', 'tls', 'snapshot.db'),
        snapshotId: 'tls',
        credentialsDir: cluster.credentialsDir as string,
      }),
      { terminationLog: join(cluster.dir, 'term') },
    );
    expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(run.result?.member).toBe(cluster.endpoints[0]);
  });

  it('AUTH_FAILED / AUTH_CERT_INVALID with a certificate of another CA', async () => {
    const other = createPki(join(cluster.dir, 'other'));
    const pair = other.issue('client', { commonName: 'root', usage: 'client' });
    const dir = join(cluster.dir, 'bad-credentials');
    mkdirSync(dir);
    cpSync(pair.certFile, join(dir, 'tls.crt'));
    cpSync(pair.keyFile, join(dir, 'tls.key'));
    cpSync(join(cluster.credentialsDir as string, 'ca.crt'), join(dir, 'ca.crt'));
    const run = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 'snapshots', 'bad', 'snapshot.db'),
        snapshotId: 'bad',
        credentialsDir: dir,
      }),
      { terminationLog: join(cluster.dir, 'term') },
    );
    expect(run.code).toBe(AGENT_EXIT_CODES.AUTH_FAILED);
    expect(run.terminationMessage?.error?.reason).toBe('AUTH_CERT_INVALID');
  });

  it('AUTH_FAILED / AUTH_CERT_NOT_FOUND when the mounted Secret lacks the key', async () => {
    const dir = join(cluster.dir, 'half-credentials');
    mkdirSync(dir);
    cpSync(join(cluster.credentialsDir as string, 'tls.crt'), join(dir, 'tls.crt'));
    const run = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 's', 'snapshot.db'),
        snapshotId: 'h',
        credentialsDir: dir,
      }),
      { terminationLog: join(cluster.dir, 'term') },
    );
    expect(run.code).toBe(AGENT_EXIT_CODES.AUTH_FAILED);
    expect(run.terminationMessage?.error).toMatchObject({ reason: 'AUTH_CERT_NOT_FOUND' });
    expect(run.terminationMessage?.error?.message).toContain('"tls.key"');
  });
});

// Serving certificates that name DNS names only: the Job dials the IP its endpoints give and
// checks the name they carry; a failure names the member and the Secret the Job mounted.
describe('agent save against server certificates with DNS names only', () => {
  let cluster: EtcdProcessCluster;
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 3, auth: 'tls', serverNames: 'dns' });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('saves from the member the endpoints name', async () => {
    const run = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 'snapshots', 'dns', 'snapshot.db'),
        snapshotId: 'dns',
        credentialsDir: cluster.credentialsDir as string,
        credentialsSecret: 'etcd/demo-tls',
      }),
      { terminationLog: join(cluster.dir, 'term') },
    );
    expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(run.result?.member).toMatch(/\?tls-server-name=m\d\.etcd\.test$/);
  });

  it('a CA that did not sign the members: AUTH_CERT_INVALID naming the member and the mounted Secret', async () => {
    const other = createPki(join(cluster.dir, 'other'));
    const dir = join(cluster.dir, 'other-ca');
    mkdirSync(dir);
    for (const f of ['tls.crt', 'tls.key']) cpSync(join(cluster.credentialsDir as string, f), join(dir, f));
    cpSync(other.ca.certFile, join(dir, 'ca.crt'));
    const run = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints.slice(0, 1),
        file: join(cluster.dir, 'snapshots', 'other-ca', 'snapshot.db'),
        snapshotId: 'other-ca',
        credentialsDir: dir,
        credentialsSecret: 'etcd/demo-tls',
      }),
      { terminationLog: join(cluster.dir, 'term') },
    );
    expect(run.code).toBe(AGENT_EXIT_CODES.AUTH_FAILED);
    expect(run.terminationMessage?.error?.reason).toBe('AUTH_CERT_INVALID');
    expect(run.terminationMessage?.error?.message).toContain(
      'server certificate of etcd member m0.etcd.test',
    );
    expect(run.terminationMessage?.error?.message).toContain(
      'is not signed by ca.crt of Secret etcd/demo-tls',
    );
    expect(`${run.stderr}${JSON.stringify(run.terminationMessage)}`).not.toContain('use-system-ca');

    // etcd-druid: the mounted ca.crt is another Secret's key, and the message says which.
    const druid = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints.slice(0, 1),
        file: join(cluster.dir, 'snapshots', 'other-ca-druid', 'snapshot.db'),
        snapshotId: 'other-ca-druid',
        credentialsDir: dir,
        credentialsSecret: 'etcd/demo-client-tls',
        caSecret: 'etcd/demo-ca:bundle.crt',
      }),
      { terminationLog: join(cluster.dir, 'term') },
    );
    expect(druid.terminationMessage?.error?.message).toContain(
      'is not signed by bundle.crt of Secret etcd/demo-ca',
    );
  });
});

describe('agent save with user and password', () => {
  let cluster: EtcdProcessCluster;
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 3, auth: 'basic' });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('saves with the mounted user', async () => {
    const run = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 'snapshots', 'basic', 'snapshot.db'),
        snapshotId: 'basic',
        credentialsDir: cluster.credentialsDir as string,
      }),
      { terminationLog: join(cluster.dir, 'term') },
    );
    expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(`${run.stderr}${JSON.stringify(run.result)}`).not.toContain(cluster.user?.password as string);
  });

  it('AUTH_FAILED / AUTH_BASIC_INVALID with a wrong password that appears nowhere in the output', async () => {
    const dir = join(cluster.dir, 'wrong');
    mkdirSync(dir);
    writeFileSync(join(dir, 'username'), 'root');
    writeFileSync(join(dir, 'password'), 'Wrong-Password-913');
    const run = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 's', 'snapshot.db'),
        snapshotId: 'w',
        credentialsDir: dir,
      }),
      { terminationLog: join(cluster.dir, 'term') },
    );
    expect(run.code).toBe(AGENT_EXIT_CODES.AUTH_FAILED);
    expect(run.terminationMessage?.error?.reason).toBe('AUTH_BASIC_INVALID');
    expect(`${run.stderr}${JSON.stringify(run.result)}`).not.toContain('Wrong-Password-913');
  });

  it('AUTH_FAILED / AUTH_PERMISSION_DENIED without credentials', async () => {
    const run = await runAgentProcess(
      saveCommand({
        endpoints: cluster.endpoints,
        file: join(cluster.dir, 's', 'snapshot.db'),
        snapshotId: 'n',
      }),
      { terminationLog: join(cluster.dir, 'term') },
    );
    expect(run.code).toBe(AGENT_EXIT_CODES.AUTH_FAILED);
    expect(run.terminationMessage?.error?.reason).toBe('AUTH_PERMISSION_DENIED');
  });
});
