import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  credentialsFromDir,
  credentialsFromSecret,
  describeCredentials,
  withCaFromSecret,
} from '../../../src/etcd/credentials.ts';
import { EtcdError } from '../../../src/etcd/errors.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const meta = { name: 'etcd-client', namespace: 'prod' };

function failure(fn: () => unknown): EtcdError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EtcdError) return err;
    throw err;
  }
  throw new Error('expected an EtcdError');
}

describe('credentialsFromSecret', () => {
  it('reads a kubernetes.io/tls Secret with ca.crt', () => {
    const c = credentialsFromSecret({
      metadata: meta,
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64('CERT'), 'tls.key': b64('KEY'), 'ca.crt': b64('CA') },
    });
    expect(c.kind).toBe('tls');
    if (c.kind !== 'tls') return;
    expect(c.cert.toString()).toBe('CERT');
    expect(c.key.toString()).toBe('KEY');
    expect(c.ca?.toString()).toBe('CA');
  });

  it('reads a kubernetes.io/basic-auth Secret, ca.crt optional', () => {
    const c = credentialsFromSecret({
      metadata: meta,
      type: 'kubernetes.io/basic-auth',
      data: { username: b64('root'), password: b64('s3cret-Value') },
    });
    expect(c).toMatchObject({ kind: 'basic', username: 'root', password: 's3cret-Value' });
    expect(c.kind === 'basic' && c.ca).toBeFalsy();
  });

  it('reads Opaque Secrets by their keys', () => {
    expect(
      credentialsFromSecret({
        metadata: meta,
        type: 'Opaque',
        data: { 'tls.crt': b64('C'), 'tls.key': b64('K') },
      }).kind,
    ).toBe('tls');
    expect(
      credentialsFromSecret({
        metadata: meta,
        type: 'Opaque',
        data: { username: b64('u'), password: b64('p') },
      }).kind,
    ).toBe('basic');
  });

  it('names the Secret and the missing key, never a value', () => {
    const e = failure(() =>
      credentialsFromSecret({
        metadata: meta,
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': b64('CERT-VALUE') },
      }),
    );
    expect(e.reason).toBe('AUTH_CERT_NOT_FOUND');
    expect(e.message).toContain('Secret prod/etcd-client');
    expect(e.message).toContain('"tls.key"');
    expect(e.message).not.toContain('CERT-VALUE');
    const p = failure(() =>
      credentialsFromSecret({
        metadata: meta,
        type: 'kubernetes.io/basic-auth',
        data: { password: b64('hunter2-pw') },
      }),
    );
    expect(p.message).toContain('"username"');
    expect(p.message).not.toContain('hunter2-pw');
  });

  it('rejects a Secret with neither shape, or with both', () => {
    expect(
      failure(() => credentialsFromSecret({ metadata: meta, type: 'Opaque', data: { other: b64('x') } }))
        .message,
    ).toContain('neither');
    expect(
      failure(() =>
        credentialsFromSecret({
          metadata: meta,
          data: { 'tls.crt': b64('C'), 'tls.key': b64('K'), username: b64('u'), password: b64('p') },
        }),
      ).message,
    ).toContain('keep one');
    expect(
      failure(() =>
        credentialsFromSecret({ metadata: meta, type: 'kubernetes.io/dockerconfigjson', data: {} }),
      ).message,
    ).toContain('kubernetes.io/dockerconfigjson');
  });

  it('prints only the kind, whatever prints it', () => {
    const c = credentialsFromSecret({
      metadata: meta,
      type: 'kubernetes.io/basic-auth',
      data: { username: b64('root'), password: b64('very-secret-pw') },
    });
    for (const text of [
      String(c),
      `${c}`,
      JSON.stringify(c),
      JSON.stringify({ nested: c }),
      inspect(c),
      inspect({ c }),
    ]) {
      expect(text).not.toContain('very-secret-pw');
      expect(text).toContain('basic');
    }
    expect(describeCredentials(c)).toBe('EtcdCredentials(basic)');
  });
});

describe('credentialsFromDir (a mounted Secret)', () => {
  it('reads the keys as files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'creds-'));
    writeFileSync(join(dir, 'tls.crt'), 'CERT');
    writeFileSync(join(dir, 'tls.key'), 'KEY');
    writeFileSync(join(dir, 'ca.crt'), 'CA');
    const c = await credentialsFromDir(dir);
    expect(c.kind).toBe('tls');
    expect(c.kind === 'tls' && c.ca?.toString()).toBe('CA');
  });

  it('says which key is missing and that the directory is empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'creds-'));
    await expect(credentialsFromDir(dir)).rejects.toThrow(/holds none of/);
    writeFileSync(join(dir, 'username'), 'root');
    await expect(credentialsFromDir(dir)).rejects.toThrow(/"password"/);
    await expect(credentialsFromDir(join(dir, 'absent'))).rejects.toMatchObject({
      reason: 'AUTH_CERT_NOT_FOUND',
    });
  });
});

describe('withCaFromSecret (etcd-druid keeps the CA apart from the client key pair)', () => {
  const client = credentialsFromSecret({
    metadata: { name: 'main-client', namespace: 'etcd' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64('CERT'), 'tls.key': b64('KEY') },
  });
  const caSecret = { metadata: { name: 'main-ca', namespace: 'etcd' }, data: { 'bundle.crt': b64('CA') } };

  it('takes the CA from the key and says where it came from', () => {
    const creds = withCaFromSecret(client, caSecret, 'bundle.crt');
    expect(creds.kind === 'tls' && creds.ca?.toString()).toBe('CA');
    expect(creds.kind === 'tls' && creds.caSource).toBe('bundle.crt of Secret etcd/main-ca');
    expect(creds.kind === 'tls' && creds.source).toBe('Secret etcd/main-client');
    expect(String(creds)).toBe('EtcdCredentials(tls)');
  });

  it('names the Secret and the key that is missing', () => {
    expect(() => withCaFromSecret(client, caSecret, 'ca.crt')).toThrow(
      'Secret etcd/main-ca has no key "ca.crt" (the CA of the members\' certificates)',
    );
  });
});
