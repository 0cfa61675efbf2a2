// A port for a test server to bind, instead of a fixed number another test or process may hold.
import { createServer } from 'node:net';

/** A port nobody listens on at `host` right now (the kernel's pick for port 0). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error(`no port from ${host}`)),
      );
    });
  });
}
