// A process serving CSI on the socket given as argv[2], wired as main.ts wires the CSI server:
// SIGTERM drains it and the process exits when the drain is done. ListSnapshots takes 500 ms.
import { Writable } from 'node:stream';
import { startCsiServer } from '../../../src/csi/server.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const socket = process.argv[2]!;
const log = createLogger({
  level: 'error',
  format: 'json',
  destination: new Writable({ write: (_c, _e, d) => d() }),
});
const server = await startCsiServer({
  endpoints: [`unix://${socket}`],
  services: {
    Controller: {
      ListSnapshots: () => {
        // The sentinel the test waits for before it sends SIGTERM: the call is in flight.
        process.stdout.write('in-flight\n');
        return new Promise((resolve) =>
          setTimeout(() => resolve({ entries: [], next_token: 'slow-call-finished' }), 500),
        );
      },
    },
  },
  log,
});
process.once('SIGTERM', () => {
  void server.stop(10_000).then(() => {
    process.exitCode = 0;
  });
});
process.stdout.write('serving\n');
