// Composition root: configuration → telemetry → Kubernetes → informers → leader → reconcilers → CSI.
// Nothing here holds logic of its own; it wires the pieces and owns the process lifecycle.
//
// The agent (Jobs) and the driver share this entry point but little code: each mode imports its
// modules only when chosen, so an agent Job does not pay ~1 s of start-up for the driver's
// Kubernetes client, gRPC server and SDKs it never uses.
import { ConfigError, loadConfig, usage } from './config/config.ts';
import { createLogger } from './telemetry/logger.ts';

const SHUTDOWN_DEADLINE_MS = 30_000;

async function main(argv: string[]): Promise<number> {
  // Jobs run the same image as the agent (docs/agent.md): its own flags, exit codes and output.
  if (argv[0] === 'agent') {
    const { runAgentProcess } = await import('./agent/process-entry.ts');
    return runAgentProcess(argv);
  }
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
    {
      driver_name: config.driverName,
      csi_endpoint: config.csiEndpoint,
      log_level: config.logLevel,
      ...(config.configFile ? { config_file: config.configFile } : {}),
    },
    'etcd-snapshot-driver starting',
  );

  // Signals are listened for from the start: a SIGTERM while starting aborts the start-up, which
  // then stops whatever had started (Leases released, sockets closed) before main returns.
  const abort = new AbortController();
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (abort.signal.aborted) {
        // A second signal, or a stop that hangs (below), must still end the process.
        log.error({ signal }, 'second signal: exiting at once');
        process.exit(1);
      }
      setTimeout(() => {
        log.error({ deadline_ms: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      abort.abort(new Error(`${signal} received`));
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  // Before the driver's modules load: its KubeConfig without client-node's generated API (26–28 MB).
  const { skipClientNodeGeneratedApi } = await import('./kube/skip-generated-api.ts');
  skipClientNodeGeneratedApi();
  const [{ runDriver }, { readBuildInfo }, { startTracing }] = await Promise.all([
    import('./app/run-driver.ts'),
    import('./csi/build-info.ts'),
    import('./telemetry/tracing.ts'),
  ]);
  // Tracing first: spans of everything started after it join the SDK's context manager.
  const tracing = await startTracing({
    exporter: config.traceExporter,
    ...(config.traceEndpoint ? { endpoint: config.traceEndpoint } : {}),
    sampleRatio: config.traceSampleRatio,
    serviceVersion: readBuildInfo().version,
  });
  let driver: Awaited<ReturnType<typeof runDriver>>;
  try {
    driver = await runDriver(config, log, { signal: abort.signal });
  } catch (err) {
    if (!abort.signal.aborted) throw err;
    // runDriver stopped what had started before rejecting: nothing is left running.
    log.info({ signal: await stopped }, 'stopped while starting');
    await tracing.shutdown();
    return 0;
  }
  log.info('etcd-snapshot-driver started');
  const signal = await stopped;
  log.info({ signal }, 'shutting down');
  await driver.stop(SHUTDOWN_DEADLINE_MS - 4_000);
  await tracing.shutdown(); // flushes the spans still buffered
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
    // Whatever was started (watches, timers) would keep the process alive: end it.
    process.exit(1);
  },
);
