// The CSI side of bench/many-clusters.ts: what csi-snapshotter does for a wave of snapshots —
// CreateSnapshot for each, re-called every second until ready — with a Probe every 100 ms meanwhile.
// It runs in a child process of its own by default (the sidecar is another container: its gRPC
// encoding and decoding do not share the driver's event loop), or in the bench's process
// (BENCH_CALLER=inline, how bench/README.md's runs before session 12 were taken).
//   child: node bench/csi-caller.ts, started by `callInChild`, one step per process.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type CsiClient, createCsiClient } from '../src/csi/csi-client.ts';
import type { CreateSnapshotResponse } from '../src/csi/messages.ts';

export interface CallerStep {
  endpoint: string;
  volumes: string[];
  waves: number;
  /** Request names are `many-<n>` from this n on. */
  firstRequest: number;
}

export interface CallerResult {
  /** Milliseconds of each re-call (every Create after a snapshot's first). */
  recalls: number[];
  probes: number[];
  requested: number;
  /** Snapshots that failed, by the reason that starts their gRPC details. */
  failed: Record<string, number>;
}

const UNAVAILABLE_OR_ABORTED = new Set([10, 14]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runCallerStep(client: CsiClient, step: CallerStep): Promise<CallerResult> {
  const result: CallerResult = { recalls: [], probes: [], requested: 0, failed: {} };
  // The connection is made by the first call: not a sample of either series.
  await client.Identity.Probe!({});
  const started = performance.now();
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      const t = performance.now();
      await client.Identity.Probe!({});
      result.probes.push(performance.now() - t);
      await sleep(100);
    }
  })();
  for (let wave = 0; wave < step.waves; wave++) {
    await Promise.all(
      step.volumes.map(async (volume) => {
        const request = {
          name: `many-${step.firstRequest + result.requested++}`,
          source_volume_id: volume,
          parameters: { 'storage-class': 'local-path' },
        };
        let first = true;
        for (;;) {
          const t = performance.now();
          try {
            const res = (await client.Controller.CreateSnapshot!(request)) as CreateSnapshotResponse;
            if (!first) result.recalls.push(performance.now() - t);
            if (res.snapshot.ready_to_use) return;
          } catch (err) {
            const { code, details } = err as { code?: number; details?: string };
            if (!UNAVAILABLE_OR_ABORTED.has(code ?? -1)) {
              // A failed snapshot is terminal: counted by reason, not re-called.
              const reason = /^[A-Z_]+/.exec(details ?? '')?.[0] ?? `gRPC ${code}`;
              result.failed[reason] = (result.failed[reason] ?? 0) + 1;
              return;
            }
          }
          first = false;
          await sleep(1_000);
          if (performance.now() - started > 3_600_000) throw new Error(`${request.name} not ready in 60 min`);
        }
      }),
    );
  }
  probing = false;
  await probeLoop;
  return result;
}

/** One step in a child process. */
export function callInChild(step: CallerStep): Promise<CallerResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let answer: CallerResult | undefined;
    child.on('message', (m) => {
      answer = m as CallerResult;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      answer ? resolve(answer) : reject(new Error(`CSI caller exited ${code} without a result`)),
    );
    child.send(step);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  process.once('message', (step: CallerStep) => {
    const client = createCsiClient(step.endpoint);
    runCallerStep(client, step).then(
      (result) => {
        client.close();
        process.send!(result, () => process.exit(0));
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
