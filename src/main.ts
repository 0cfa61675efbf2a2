// Composition root: configuration → telemetry → Kubernetes → informers → leader → reconcilers → CSI.
// Nothing here holds logic of its own; it wires the pieces and owns the process lifecycle.
import { ConfigError, loadConfig, usage } from './config/config.ts';
import { createLogger } from './telemetry/logger.ts';

const SHUTDOWN_DEADLINE_MS = 30_000;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage());
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`etcd-snapshot-driver: ${err.message}\n\n${usage()}`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat }).child({ component: 'main' });
  log.info(
    { driver_name: config.driverName, csi_endpoint: config.csiEndpoint },
    'etcd-snapshot-driver starting',
  );

  // Signal listeners alone do not keep Node's event loop alive; the servers will, but until the
  // process has something listening it must still wait for its signal.
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info('etcd-snapshot-driver started');
  const signal = await stopped;
  log.info({ signal }, 'shutting down');
  clearInterval(keepAlive);
  const deadline = setTimeout(() => {
    log.error({ deadline_ms: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  log.info('stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `etcd-snapshot-driver: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
