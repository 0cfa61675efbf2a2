// The wire-level pieces of the etcd client: the hand-written Snapshot stream parser against the
// generic protobuf encoder of the same proto, endpoint parsing, and gRPC status → catalog reason.
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { memberOf, parseEndpoint, withServerName } from '../../../src/etcd/client/endpoint.ts';
import { toEtcdError } from '../../../src/etcd/client/grpc-errors.ts';
import { prefixEnd } from '../../../src/etcd/client/keys.ts';
import { memberIdHex } from '../../../src/etcd/client/members.ts';
import { etcdMethod } from '../../../src/etcd/client/proto.ts';
import { SnapshotFrameParser } from '../../../src/etcd/client/snapshot-frames.ts';
import type { EtcdError } from '../../../src/etcd/errors.ts';

describe('SnapshotFrameParser', () => {
  const encode = etcdMethod<object, object>('Maintenance', 'Snapshot').responseSerialize as (
    v: object,
  ) => Buffer;
  const frame = (message: Buffer, compressed = 0) => {
    const prefix = Buffer.alloc(5);
    prefix[0] = compressed;
    prefix.writeUInt32BE(message.length, 1);
    return Buffer.concat([prefix, message]);
  };
  const blobA = Buffer.alloc(40_000, 7);
  const blobB = Buffer.from('the last bytes');
  const stream = Buffer.concat([
    frame(
      encode({
        header: { cluster_id: '18446744073709551615', member_id: '42', revision: '9', raft_term: '3' },
        remaining_bytes: '123456789012',
        blob: blobA,
        version: '3.6.0',
      }),
    ),
    frame(Buffer.alloc(0)), // an empty message: every field at its default
    frame(encode({ remaining_bytes: '0', blob: blobB })),
  ]);
  const feed = (parser: SnapshotFrameParser, bytes: Buffer, size: (i: number) => number) => {
    const out = [];
    for (let pos = 0, i = 0; pos < bytes.length; i++) {
      const n = Math.max(1, size(i));
      out.push(...parser.push(bytes.subarray(pos, pos + n)));
      pos += n;
    }
    return out.map((m) => ({ ...m, blob: Buffer.concat(m.blob) }));
  };

  it.each([
    ['one byte at a time', () => 1],
    ['7-byte pieces', () => 7],
    ['16 KiB pieces, as HTTP/2 frames', () => 16_384],
    ['uneven pieces', (i: number) => [3, 5000, 1, 16_384, 2][i % 5] as number],
    ['all at once', () => 1 << 20],
  ])('decodes what protobuf encodes whatever the frames, fed %s', (_, size) => {
    const parser = new SnapshotFrameParser();
    const messages = feed(parser, stream, size);
    expect(messages).toEqual([
      { remainingBytes: 123456789012, blob: blobA, blobBytes: blobA.length, version: '3.6.0' },
      { remainingBytes: 0, blob: Buffer.alloc(0), blobBytes: 0, version: '' },
      { remainingBytes: 0, blob: blobB, blobBytes: blobB.length, version: '' },
    ]);
    expect(parser.messages).toBe(3);
    expect(parser.atBoundary).toBe(true);
  });

  it('passes the blob on as views into the pushed bytes, never assembled', () => {
    const parser = new SnapshotFrameParser();
    const [m] = parser.push(stream.subarray(0, 30_000));
    expect(m).toBeUndefined(); // the first message is not complete yet
    const rest = parser.push(stream.subarray(30_000));
    expect(rest[0]?.blob.length).toBe(2);
    expect(rest[0]?.blob[1]?.buffer).toBe(stream.buffer);
  });

  it('refuses a compressed message, a field running past its message and a message cut off', () => {
    expect(() => new SnapshotFrameParser().push(frame(encode({ blob: blobB }), 1))).toThrow(/compressed/);
    const wire = encode({ remaining_bytes: '5', blob: Buffer.alloc(100, 1) });
    expect(() => new SnapshotFrameParser().push(frame(wire.subarray(0, wire.length - 10)))).toThrow(
      /runs past the message/,
    );
    const cut = new SnapshotFrameParser();
    cut.push(stream.subarray(0, 100));
    expect(cut.atBoundary).toBe(false);
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
