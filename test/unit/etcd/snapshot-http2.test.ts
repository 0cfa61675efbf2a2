// The Snapshot reader's connection handling against a local HTTP/2 server speaking the call's
// gRPC framing (the reader against real etcd: test/integration/etcd). What is checked here is
// what a real etcd does only by chance: a connection reset after the stream's end.

import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { etcdMethod } from '../../../src/etcd/client/proto.ts';
import { snapshotOverHttp2 } from '../../../src/etcd/client/snapshot-http2.ts';

const encode = etcdMethod<object, object>('Maintenance', 'Snapshot').responseSerialize as (
  v: object,
) => Buffer;
const frame = (message: Buffer) => {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
};
const messages = [
  frame(encode({ remaining_bytes: '6', blob: Buffer.from('abc') })),
  frame(encode({ remaining_bytes: '3', blob: Buffer.from('def') })),
  frame(encode({ remaining_bytes: '0', blob: Buffer.from('ghi') })),
];

let server: http2.Http2Server | undefined;
afterEach(() => {
  server?.close();
  vi.restoreAllMocks();
});

/** Resolves when the reader's own connection has seen its error (the reset arriving). */
function readerConnectionError(): Promise<unknown> {
  const connect = http2.connect.bind(http2);
  return new Promise((resolve) => {
    vi.spyOn(http2, 'connect').mockImplementation(((...args: Parameters<typeof http2.connect>) => {
      const session = connect(...args);
      void once(session, 'error').then(resolve);
      return session;
    }) as typeof http2.connect);
  });
}

/** Serves the three messages and an OK status, then resets the connection. */
async function serveThenReset(): Promise<{ port: number; reset: Promise<unknown> }> {
  const reset = readerConnectionError();
  server = http2.createServer();
  server.on('stream', (stream) => {
    // Taken now: a closed stream no longer knows its session.
    const socket = stream.session?.socket as Socket | undefined;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.on('close', () => {
      socket?.resetAndDestroy();
    });
    for (const m of messages) stream.write(m);
    stream.end();
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, reset };
}

describe('snapshotOverHttp2', () => {
  it('reads a whole stream whose connection was reset after its end, while the reader was behind', async () => {
    const { port, reset } = await serveThenReset();
    const blobs: string[] = [];
    for await (const message of snapshotOverHttp2({ target: `127.0.0.1:${port}`, dialTimeoutMs: 5_000 })) {
      // The reader is still at the first message when its connection sees the reset.
      if (blobs.length === 0) await reset;
      blobs.push(Buffer.concat(message.blob).toString());
    }
    expect(blobs).toEqual(['abc', 'def', 'ghi']);
  });

  it('still stops at an abort by the caller after the stream has ended', async () => {
    const { port, reset } = await serveThenReset();
    const abort = new AbortController();
    const blobs: string[] = [];
    const read = (async () => {
      for await (const message of snapshotOverHttp2({
        target: `127.0.0.1:${port}`,
        dialTimeoutMs: 5_000,
        signal: abort.signal,
      })) {
        if (blobs.length === 0) {
          await reset;
          abort.abort(new Error('stopped by the caller'));
        }
        blobs.push(Buffer.concat(message.blob).toString());
      }
    })();
    await expect(read).rejects.toThrow('stopped by the caller');
    expect(blobs).toEqual(['abc']);
  });
});
