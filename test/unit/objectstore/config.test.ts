// parseStoreConfig: the object store Secret's keys → a checked config; every refusal names the key
// and, unless it is a secret, the value.
import { describe, expect, it } from 'vitest';
import { parseStoreConfig, StoreConfigError } from '../../../src/objectstore/config.ts';
import { customerKeyParams, s3ClientConfig, writeParams } from '../../../src/objectstore/s3-options.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const minimal = { bucket: 'etcd-backups' };
const keyB64 = Buffer.alloc(32, 7).toString('base64');

function refusal(data: Record<string, string>): StoreConfigError {
  try {
    parseStoreConfig(data);
  } catch (err) {
    expect(err).toBeInstanceOf(StoreConfigError);
    return err as StoreConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(data)}`);
}

describe('parseStoreConfig', () => {
  it('gives defaults for everything but the bucket', () => {
    expect(parseStoreConfig(minimal)).toEqual({
      bucket: 'etcd-backups',
      region: 'us-east-1',
      prefix: '',
      forcePathStyle: false,
      credentials: { kind: 'ambient' },
      checksumMode: 'when_supported',
      sse: { kind: 'none' },
      partSizeBytes: 8 * 1024 * 1024,
      queueSize: 4,
      maxAttempts: 5,
    });
  });

  it('reads every key, trimming the trailing newline of mounted files', () => {
    const c = parseStoreConfig({
      endpoint: 'https://minio.storage.svc:9000/\n',
      bucket: 'etcd-backups\n',
      region: 'eu-central-1',
      prefix: '/prod/etcd/',
      forcePathStyle: 'true',
      'ca.crt': PEM,
      accessKeyId: 'AKIDEXAMPLE\n',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG\n',
      sessionToken: 'token',
      checksumMode: 'when_required',
      sse: 'sse-kms',
      sseKmsKeyId: 'alias/etcd',
      objectLockMode: 'COMPLIANCE',
      objectLockDays: '30',
      partSizeMiB: '16',
      queueSize: '2',
      maxAttempts: '3',
    });
    expect(c).toEqual({
      endpoint: 'https://minio.storage.svc:9000',
      bucket: 'etcd-backups',
      region: 'eu-central-1',
      prefix: 'prod/etcd',
      forcePathStyle: true,
      caBundle: PEM,
      credentials: {
        kind: 'static',
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG',
        sessionToken: 'token',
      },
      checksumMode: 'when_required',
      sse: { kind: 'sse-kms', kmsKeyId: 'alias/etcd' },
      objectLock: { mode: 'COMPLIANCE', days: 30 },
      partSizeBytes: 16 * 1024 * 1024,
      queueSize: 2,
      maxAttempts: 3,
    });
  });

  it.each([
    [{}, 'bucket', 'is required'],
    [{ bucket: 'Etcd_Backups' }, 'bucket', '"Etcd_Backups" is not an S3 bucket name'],
    [{ bucket: 'a..b' }, 'bucket', '"a..b"'],
    [{ ...minimal, region: 'US East' }, 'region', '"US East"'],
    [{ ...minimal, prefix: 'a//b' }, 'prefix', '"a//b"'],
    [{ ...minimal, prefix: 'a/../b' }, 'prefix', '"a/../b"'],
    [{ ...minimal, endpoint: 'ftp://host' }, 'endpoint', '"ftp://host"'],
    [{ ...minimal, endpoint: 'https://host/bucket' }, 'endpoint', '"https://host/bucket"'],
    [{ ...minimal, forcePathStyle: 'yes' }, 'forcePathStyle', '"yes" is not one of true, false'],
    [{ ...minimal, checksumMode: 'WHEN_REQUIRED' }, 'checksumMode', 'when_supported, when_required'],
    [{ ...minimal, 'ca.crt': 'not a pem' }, 'ca.crt', 'holds no PEM certificate'],
    [{ ...minimal, accessKeyId: 'AKID' }, 'secretAccessKey', 'is required with accessKeyId'],
    [{ ...minimal, secretAccessKey: 'x' }, 'accessKeyId', 'is required with secretAccessKey'],
    [{ ...minimal, sessionToken: 'x' }, 'sessionToken', 'needs accessKeyId'],
    [{ ...minimal, sse: 'aes' }, 'sse', '"aes" is not one of none, sse-s3, sse-kms, sse-c'],
    [{ ...minimal, sseKmsKeyId: 'k' }, 'sseKmsKeyId', 'only used with sse "sse-kms"'],
    [{ ...minimal, sse: 'sse-c' }, 'sseCustomerKey', 'is required'],
    [{ ...minimal, objectLockDays: '3' }, 'objectLockMode', 'is required with objectLockDays'],
    [{ ...minimal, objectLockMode: 'LEGAL' }, 'objectLockDays', 'is required'],
    [
      { ...minimal, objectLockMode: 'LEGAL', objectLockDays: '3' },
      'objectLockMode',
      '"LEGAL" is not one of GOVERNANCE, COMPLIANCE',
    ],
    [{ ...minimal, objectLockMode: 'GOVERNANCE', objectLockDays: '0' }, 'objectLockDays', '[1, 36500]'],
    [{ ...minimal, partSizeMiB: '4' }, 'partSizeMiB', '"4" is not a whole number in [5, 5120]'],
    [{ ...minimal, queueSize: '1.5' }, 'queueSize', '"1.5"'],
    [{ ...minimal, maxAttempts: '0' }, 'maxAttempts', '[1, 10]'],
    [{ ...minimal, bukcet: 'x' }, 'bukcet', 'is not a key of an object store Secret'],
  ])('refuses %j naming %s', (data, key, text) => {
    const err = refusal(data as Record<string, string>);
    expect(err.key).toBe(key);
    expect(err.message).toContain(`"${key}"`);
    expect(err.message).toContain(text);
  });

  it('never quotes a secret value, and bounds the others', () => {
    const secret = 'my secret with spaces';
    expect(refusal({ ...minimal, accessKeyId: 'AKID', secretAccessKey: secret }).message).not.toContain(
      'my secret',
    );
    expect(refusal({ ...minimal, sse: 'sse-c', sseCustomerKey: 'c2hvcnQ=' }).message).not.toContain(
      'c2hvcnQ',
    );
    expect(refusal({ ...minimal, endpoint: 'https://user:pw@host/x' }).message).not.toContain('pw');
    const long = refusal({ bucket: 'B'.repeat(5000) });
    expect(long.message.length).toBeLessThan(400);
  });

  it('takes SSE-C as a 32-byte base64 key', () => {
    const c = parseStoreConfig({ ...minimal, sse: 'sse-c', sseCustomerKey: keyB64 });
    expect(c.sse).toEqual({ kind: 'sse-c', customerKey: Buffer.alloc(32, 7) });
    expect(
      refusal({ ...minimal, sse: 'sse-c', sseCustomerKey: Buffer.alloc(16).toString('base64') }).key,
    ).toBe('sseCustomerKey');
  });
});

describe('s3 options', () => {
  it('maps the checksum mode to both SDK settings', () => {
    const required = s3ClientConfig(parseStoreConfig({ ...minimal, checksumMode: 'when_required' }));
    expect(required.requestChecksumCalculation).toBe('WHEN_REQUIRED');
    expect(required.responseChecksumValidation).toBe('WHEN_REQUIRED');
    const supported = s3ClientConfig(parseStoreConfig(minimal));
    expect(supported.requestChecksumCalculation).toBe('WHEN_SUPPORTED');
    expect(supported.responseChecksumValidation).toBe('WHEN_SUPPORTED');
  });

  it('passes static keys, and none for ambient credentials', () => {
    const c = s3ClientConfig(parseStoreConfig({ ...minimal, accessKeyId: 'a', secretAccessKey: 'b' }));
    expect(c.credentials).toEqual({ accessKeyId: 'a', secretAccessKey: 'b' });
    expect(s3ClientConfig(parseStoreConfig(minimal)).credentials).toBeUndefined();
  });

  it('passes the endpoint, path style, retries and a CA bundle agent', () => {
    const c = s3ClientConfig(
      parseStoreConfig({ ...minimal, endpoint: 'http://h:9000', forcePathStyle: 'true', 'ca.crt': PEM }),
    );
    expect(c).toMatchObject({ endpoint: 'http://h:9000', forcePathStyle: true, maxAttempts: 5 });
    const handler = c.requestHandler as { httpsAgent?: { options: { ca: string[] } } };
    expect(handler.httpsAgent?.options.ca).toContain(PEM);
  });

  it('gives SSE and object-lock request parameters', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(writeParams(parseStoreConfig(minimal), now)).toEqual({});
    expect(writeParams(parseStoreConfig({ ...minimal, sse: 'sse-s3' }), now)).toEqual({
      ServerSideEncryption: 'AES256',
    });
    expect(
      writeParams(
        parseStoreConfig({ ...minimal, sse: 'sse-kms', objectLockMode: 'GOVERNANCE', objectLockDays: '2' }),
        now,
      ),
    ).toEqual({
      ServerSideEncryption: 'aws:kms',
      ObjectLockMode: 'GOVERNANCE',
      ObjectLockRetainUntilDate: new Date('2026-01-03T00:00:00Z'),
    });
    const ssec = parseStoreConfig({ ...minimal, sse: 'sse-c', sseCustomerKey: keyB64 });
    expect(customerKeyParams(ssec)).toEqual({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: keyB64 });
    expect(writeParams(ssec, now)).toEqual({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: keyB64 });
  });
});
