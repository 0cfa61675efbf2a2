// A stable address in front of backends whose addresses change: each new connection is piped to
// the first backend that accepts it, asked for afresh. The process kubelet gives a restarted pod
// a new IP, so a client that must keep one etcd URL across a restore (a kube-apiserver's
// --etcd-servers) talks to this, as a production apiserver talks to stable member DNS names.
import { connect, createServer, type Socket } from 'node:net';

export interface TcpForwarder {
  /** host:port the forwarder listens on. */
  address: string;
  close(): Promise<void>;
}

export interface Backend {
  host: string;
  port: number;
}

export async function startTcpForwarder(
  listen: Backend,
  backends: () => Promise<Backend[]>,
): Promise<TcpForwarder> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    backends()
      .then((list) => pipeToFirst(client, list, open))
      .catch(() => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    address: `${listen.host}:${listen.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function pipeToFirst(client: Socket, list: Backend[], open: Set<Socket>): void {
  const [first, ...rest] = list;
  if (!first || client.destroyed) {
    client.destroy();
    return;
  }
  const upstream = connect(first.port, first.host);
  let connected = false;
  upstream.on('error', () => {
    // Not connected yet: try the next backend; connected: the client sees the connection drop.
    if (!connected) pipeToFirst(client, rest, open);
    else client.destroy();
  });
  upstream.once('connect', () => {
    connected = true;
    open.add(upstream);
    upstream.on('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
}
