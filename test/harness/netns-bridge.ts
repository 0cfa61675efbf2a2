// A program in a network namespace of its own that still reaches a few TCP addresses of the host:
// its fixed ports (which no flag moves) then never meet another process's on this machine.
// Inside, `lo` is up and netns-forward.ts listens on each address (any 127.x is local there) and
// pipes each connection to a Unix socket in the shared filesystem; outside, the harness listens on
// that socket and connects to the real address. TLS passes through untouched, so certificates
// for the address still match.
//
//   const bridge = await bridgeNetwork(dir, [{ host: '127.21.0.1', port: 6443 }]);
//   startProcess('x', 'unshare', bridge.wrap(command, args), …);   … await bridge.close();
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pipeBoth } from './pipe-sockets.ts';
import { PROJECT_ROOT } from './tools.ts';

export interface HostAddress {
  host: string;
  port: number;
}

export interface NetworkBridge {
  /** The argv (for `startProcess('…', 'unshare', argv)`) that runs `command args` inside. */
  wrap(command: string, args: readonly string[]): string[];
  /** Stops listening on the Unix sockets and ends the connections through them. */
  close(): Promise<void>;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Listens on `<dir>/bridge-<n>.sock` for each address; `dir`'s path must be short (Unix sockets: 108 bytes). */
export async function bridgeNetwork(dir: string, addresses: readonly HostAddress[]): Promise<NetworkBridge> {
  const sockets: Socket[] = [];
  const servers: Server[] = [];
  const routes: string[] = [];
  for (const [n, { host, port }] of addresses.entries()) {
    const path = join(dir, `bridge-${n}.sock`);
    rmSync(path, { force: true });
    const server = createServer((inner) => {
      const outer = connect(port, host);
      sockets.push(inner, outer);
      pipeBoth(inner, outer);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    servers.push(server);
    routes.push(`${host}:${port}=${path}`);
  }
  const ready = join(dir, 'bridge-ready');
  rmSync(ready, { force: true });
  const forwarder = [
    ...['setpriv', '--pdeathsig', 'KILL', '--'],
    join(PROJECT_ROOT, 'node_modules/.bin/node'),
    join(PROJECT_ROOT, 'test/harness/netns-forward.ts'),
    ready,
    ...routes,
  ];
  // The forwarder dies with the program (pdeathsig; it is the program's child once sh execs it).
  const script = [
    'ip link set lo up',
    `{ ${forwarder.map(quote).join(' ')} & }`,
    `while [ ! -e ${quote(ready)} ]; do sleep 0.05; done`,
    'exec "$@"',
  ].join(' && ');
  return {
    wrap: (command, args) => ['--net', '--', 'sh', '-c', script, 'sh', command, ...args],
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
