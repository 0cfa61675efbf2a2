// Runs inside a network namespace of its own (see netns-bridge.ts): listens on each
// `<host>:<port>` given and pipes every connection to the Unix socket paired with it, which the
// harness outside the namespace connects on to the real address. Touches `<ready file>` once all
// listen, so the program started after it finds them.
//
//   node netns-forward.ts <ready file> <host>:<port>=<socket path> …
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { pipeBoth } from './pipe-sockets.ts';

function listen(route: string): Promise<void> {
  const eq = route.indexOf('=');
  const address = route.slice(0, eq);
  const socketPath = route.slice(eq + 1);
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve, reject) => {
    const server = createServer((conn) => pipeBoth(conn, connect(socketPath)));
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

const [readyFile, ...routes] = process.argv.slice(2);
if (readyFile === undefined || routes.length === 0) {
  process.stderr.write('usage: netns-forward.ts <ready file> <host>:<port>=<socket path> …\n');
  process.exit(2);
}
await Promise.all(routes.map(listen));
writeFileSync(readyFile, '');
