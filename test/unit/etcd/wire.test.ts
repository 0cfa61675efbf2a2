// The wire-level pieces of the etcd client: the hand-written SnapshotResponse decoder against the
// generic protobuf encoder of the same proto, endpoint parsing, and gRPC status → catalog reason.
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { memberOf, parseEndpoint, withServerName } from '../../../src/etcd/client/endpoint.ts';
import { memberIdHex, prefixEnd } from '../../../src/etcd/client/etcd-client.ts';
import { toEtcdError } from '../../../src/etcd/client/grpc-errors.ts';
import { etcdMethod } from '../../../src/etcd/client/proto.ts';
import { decodeSnapshotResponse } from '../../../src/etcd/client/snapshot-decoder.ts';
import type { EtcdError } from '../../../src/etcd/errors.ts';

describe('decodeSnapshotResponse', () => {
  const encode = etcdMethod<object, object>('Maintenance', 'Snapshot').responseSerialize as (
    v: object,
  ) => Buffer;

  it('decodes what protobuf encodes, header and unknown-to-us fields skipped', () => {
    const blob = Buffer.alloc(40_000, 7);
    const wire = encode({
      header: { cluster_id: '18446744073709551615', member_id: '42', revision: '9', raft_term: '3' },
      remaining_bytes: '123456789012',
      blob,
      version: '3.6.0',
    });
    const m = decodeSnapshotResponse(wire);
    expect(m.remainingBytes).toBe(123456789012);
    expect(m.blob.equals(blob)).toBe(true);
    expect(m.version).toBe('3.6.0');
  });

  it('gives defaults for an empty message and rejects a truncated one', () => {
    expect(decodeSnapshotResponse(Buffer.alloc(0))).toEqual({
      remainingBytes: 0,
      blob: Buffer.alloc(0),
      version: '',
    });
    const wire = encode({ remaining_bytes: '5', blob: Buffer.alloc(100, 1) });
    expect(() => decodeSnapshotResponse(wire.subarray(0, wire.length - 10))).toThrow(/runs past/);
  });
});

describe('parseEndpoint', () => {
  it('takes URLs with and without scheme and port', () => {
    expect(parseEndpoint('https://10.0.0.1:2379')).toEqual({ target: '10.0.0.1:2379', tls: true });
    expect(parseEndpoint('http://etcd-0.etcd.ns.svc:2379/')).toEqual({
      target: 'etcd-0.etcd.ns.svc:2379',
      tls: false,
    });
    expect(parseEndpoint('10.0.0.1')).toEqual({ target: '10.0.0.1:2379', tls: undefined });
    expect(parseEndpoint('https://[fd00::1]:2379').target).toBe('[fd00::1]:2379');
    expect(parseEndpoint('http://[fd00::1]').target).toBe('[fd00::1]:2379');
  });
  it('takes the TLS server name the certificate is checked for', () => {
    expect(parseEndpoint('https://10.0.0.5:2379?tls-server-name=demo-0.demo.etcd.svc')).toEqual({
      target: '10.0.0.5:2379',
      tls: true,
      serverName: 'demo-0.demo.etcd.svc',
    });
    expect(withServerName('https://10.0.0.5:2379', 'demo-0.demo')).toBe(
      'https://10.0.0.5:2379?tls-server-name=demo-0.demo',
    );
    expect(withServerName('https://10.0.0.5:2379', undefined)).toBe('https://10.0.0.5:2379');
    expect(memberOf('https://10.0.0.5:2379?tls-server-name=demo-0.demo')).toBe('demo-0.demo');
    expect(memberOf('https://10.0.0.5:2379')).toBe('10.0.0.5:2379');
  });
  it('refuses other queries and server names that are not DNS names', () => {
    expect(() => parseEndpoint('https://10.0.0.5:2379?x=1')).toThrow(/\?tls-server-name=<DNS name>/);
    expect(() => parseEndpoint('https://10.0.0.5:2379?tls-server-name=a_b')).toThrow(
      /"https:\/\/10\.0\.0\.5/,
    );
    expect(() => parseEndpoint('https://10.0.0.5:2379?tls-server-name=')).toThrow(/tls-server-name/);
  });
  it('names a bad endpoint', () => {
    expect(() => parseEndpoint('http://a/b/c')).toThrow(/"http:\/\/a\/b\/c"/);
    expect(() => parseEndpoint('unix:///tmp/etcd.sock')).toThrow(/unix sockets/);
  });
});

describe('member IDs and prefixes', () => {
  it('prints uint64 IDs in hex without losing bits', () => {
    expect(memberIdHex('18446744073709551615')).toBe('ffffffffffffffff');
    expect(memberIdHex('0')).toBe('0');
    expect(memberIdHex(undefined)).toBe('0');
  });
  it('computes range ends', () => {
    expect(prefixEnd(Buffer.from('/a')).toString()).toBe('/b');
    expect([...prefixEnd(Buffer.from([0x61, 0xff]))]).toEqual([0x62]);
    expect([...prefixEnd(Buffer.from([0]))]).toEqual([0]);
  });
});

describe('toEtcdError', () => {
  const grpcError = (code: status, details: string): ServiceError =>
    Object.assign(new Error(`${code} ${details}`), { code, details, metadata: new Metadata() });
  const reasonOf = (code: status, details: string) =>
    (toEtcdError(grpcError(code, details), 'e', 'call') as EtcdError).reason;

  it.each([
    [status.PERMISSION_DENIED, 'etcdserver: permission denied', 'AUTH_PERMISSION_DENIED'],
    [
      status.INVALID_ARGUMENT,
      'etcdserver: authentication failed, invalid user ID or password',
      'AUTH_BASIC_INVALID',
    ],
    [status.INVALID_ARGUMENT, 'etcdserver: user name is empty', 'AUTH_PERMISSION_DENIED'],
    [status.UNAUTHENTICATED, 'etcdserver: invalid auth token', 'AUTH_BASIC_INVALID'],
    [status.UNAVAILABLE, 'etcdserver: no leader', 'ETCD_NO_LEADER'],
    [
      status.UNAVAILABLE,
      'No connection established. Last error: connect ECONNREFUSED 10.0.0.1:2379',
      'ETCD_ENDPOINTS_UNREACHABLE',
    ],
    [
      status.UNAVAILABLE,
      'No connection established. Last error: Error: unable to verify the first certificate',
      'AUTH_CERT_INVALID',
    ],
    [status.UNAVAILABLE, 'ssl3_read_bytes:tlsv1 alert unknown ca', 'AUTH_CERT_INVALID'],
    [status.UNAVAILABLE, 'certificate has expired', 'AUTH_CERT_INVALID'],
    [status.DEADLINE_EXCEEDED, 'Deadline exceeded after 5.001s', 'ETCD_ENDPOINTS_UNREACHABLE'],
    [status.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded', 'SNAPSHOT_FAILED'],
  ])('code %i "%s" → %s', (code, details, reason) => {
    expect(reasonOf(code, details)).toBe(reason);
  });

  it('keeps the endpoint and the status text in the message', () => {
    const e = toEtcdError(
      grpcError(status.PERMISSION_DENIED, 'etcdserver: permission denied'),
      'https://10.0.0.9:2379',
      'Maintenance.Snapshot',
    );
    expect(e.message).toBe('Maintenance.Snapshot at https://10.0.0.9:2379: etcdserver: permission denied');
  });
});
