// Keys per second through a controller with a no-op reconciler and 8 workers: the runtime's own
// overhead (queue, dedup, processing set, backoff bookkeeping, reconcile wrapper, metrics hooks).
//
//   node bench/queue-throughput.ts [--keys 200000] [--workers 8]
//
// Goal (issue 3): ≥ 50 000 keys/s.
import { pino } from 'pino';
import { Controller } from '../src/reconcile/controller.ts';
import { noopControllerMetrics, RecordingControllerMetrics } from '../src/reconcile/metrics.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const keys = flag('keys', 200_000);
const workers = flag('workers', 8);

async function run(
  label: string,
  options: { metrics: 'noop' | 'recording'; addsPerKey: number },
): Promise<void> {
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const controller = new Controller({
    name: 'bench',
    logger: pino({ level: 'silent' }),
    workers,
    metrics: options.metrics === 'noop' ? noopControllerMetrics : new RecordingControllerMetrics(),
    reconciler: {
      reconcile: async () => {
        if (++done === keys) finish();
        return {};
      },
    },
  });
  controller.start();
  const started = performance.now();
  // Adds arrive in bursts, as informer events do, with the workers running in between.
  const burst = 1_000;
  for (let i = 0; i < keys; i += burst) {
    for (let j = i; j < Math.min(i + burst, keys); j++) {
      for (let a = 0; a < options.addsPerKey; a++) controller.enqueue(`namespace-${j % 100}/object-${j}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await controller.stop({ deadlineMs: 1_000 });
  console.log(
    `  ${label.padEnd(44)} ${Math.round(keys / seconds)
      .toLocaleString('en-US')
      .padStart(9)} keys/s  (${keys.toLocaleString('en-US')} keys in ${seconds.toFixed(2)} s)`,
  );
}

console.log(`queue throughput: no-op reconciler, ${workers} workers (goal ≥ 50,000 keys/s)`);
await run('distinct keys, no-op metrics', { metrics: 'noop', addsPerKey: 1 });
await run('distinct keys, every metric hook recording', { metrics: 'recording', addsPerKey: 1 });
await run('each key added 3 times (deduplicated)', { metrics: 'noop', addsPerKey: 3 });
