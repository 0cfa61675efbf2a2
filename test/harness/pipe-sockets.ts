// Two sockets joined both ways, each closed when the other ends or fails: what every forwarder of
// the harness (the Velero network-namespace bridge and its in-namespace half) does per connection.
import type { Socket } from 'node:net';

export function pipeBoth(a: Socket, b: Socket): void {
  const end = () => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', end);
    s.on('close', end);
  }
  a.pipe(b);
  b.pipe(a);
}
