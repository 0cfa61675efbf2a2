// A TCP proxy in front of the apiserver that can make connections go silent, to test what a
// half-open connection does to a watch. TLS passes through untouched; the proxy listens on the
// apiserver's own address (another port), so the serving certificate still matches.
import net from 'node:net';

export interface TcpProxy {
  /** e.g. https://127.21.0.1:41234 */
  url: string;
  /**
   * Existing connections go silent in both directions (bytes are dropped, sockets stay open):
   * the peer sees a connection that is alive but never answers. New connections work normally.
   */
  blackholeExisting(): void;
  /** Every connection, existing and new, goes silent (nothing forwarded) until resume(). */
  pause(): void;
  resume(): void;
  /** Connections currently open. */
  readonly connections: number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  blackholed: boolean;
  held: { toUpstream: Buffer[]; toClient: Buffer[] };
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let paused = false;

  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair: Pair = { client, upstream, blackholed: false, held: { toUpstream: [], toClient: [] } };
    pairs.add(pair);
    const forward = (data: Buffer, to: net.Socket, held: Buffer[]) => {
      if (pair.blackholed) return;
      if (paused) held.push(data);
      else to.write(data);
    };
    client.on('data', (d: Buffer) => forward(d, upstream, pair.held.toUpstream));
    upstream.on('data', (d: Buffer) => forward(d, client, pair.held.toClient));
    const close = () => {
      pairs.delete(pair);
      // A blackholed connection stays "open" to the client, as a half-open one would.
      if (!pair.blackholed) client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      pairs.delete(pair);
      upstream.destroy();
    });
    upstream.on('close', () => {
      if (paused) return; // delivered on resume, like a network that comes back
      close();
    });
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, target.host, resolve));
  const { port } = server.address() as net.AddressInfo;

  return {
    url: `https://${target.host}:${port}`,
    blackholeExisting() {
      for (const pair of pairs) pair.blackholed = true;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const pair of [...pairs]) {
        for (const d of pair.held.toUpstream.splice(0)) pair.upstream.write(d);
        for (const d of pair.held.toClient.splice(0)) pair.client.write(d);
        if (pair.upstream.destroyed) {
          pairs.delete(pair);
          pair.client.destroy();
        }
      }
    },
    get connections() {
      return pairs.size;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
