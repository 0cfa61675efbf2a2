// The controller-runtime and client-go families, implementing the hooks src/reconcile/metrics.ts
// (ControllerMetrics) and src/leader/metrics.ts (LeaderMetrics) declare. Telemetry imports
// nothing of src/, so the interfaces are met structurally; the names, labels and buckets are
// upstream's so existing controller-runtime dashboards and alerts work unchanged.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** client-go workqueue: prometheus.ExponentialBuckets(10e-9, 10, 12), 10 ns … 1000 s. */
const WORKQUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

/** controller-runtime's reconcile_time_seconds buckets (5 ms … 60 s). */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
  1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/** controller-runtime's `result` label values (src/reconcile/metrics.ts ReconcileResultLabel). */
export type ReconcileResult = 'success' | 'error' | 'requeue_after' | 'requeue';

export class PromControllerMetrics {
  readonly #depth: Gauge<'name'>;
  readonly #adds: Counter<'name'>;
  readonly #queueDuration: Histogram<'name'>;
  readonly #workDuration: Histogram<'name'>;
  readonly #retries: Counter<'name'>;
  readonly #unfinished: Gauge<'name'>;
  readonly #longest: Gauge<'name'>;
  readonly #reconcile: Counter<'controller' | 'result'>;
  readonly #reconcileErrors: Counter<'controller'>;
  readonly #terminalErrors: Counter<'controller'>;
  readonly #reconcileTime: Histogram<'controller'>;
  readonly #activeWorkers: Gauge<'controller'>;
  readonly #handlerErrors: Counter<'controller'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#depth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
    });
    this.#adds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.#queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.#workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.#retries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.#unfinished = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has been done that is in progress and has not been observed by work_duration',
      labelNames: ['name'],
      registers,
    });
    this.#longest = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: ['name'],
      registers,
    });
    this.#reconcile = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.#reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.#terminalErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.#reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.#activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.#handlerErrors = new Counter({
      name: 'controller_runtime_event_handler_errors_total',
      help: 'Total number of event handler or predicate errors per controller (the event was skipped)',
      labelNames: ['controller'],
      registers,
    });
  }

  setDepth(name: string, depth: number): void {
    this.#depth.set({ name }, depth);
  }
  incAdds(name: string): void {
    this.#adds.inc({ name });
  }
  observeQueueDuration(name: string, seconds: number): void {
    this.#queueDuration.observe({ name }, seconds);
  }
  observeWorkDuration(name: string, seconds: number): void {
    this.#workDuration.observe({ name }, seconds);
  }
  incRetries(name: string): void {
    this.#retries.inc({ name });
  }
  setUnfinishedWork(name: string, seconds: number): void {
    this.#unfinished.set({ name }, seconds);
  }
  setLongestRunningProcessor(name: string, seconds: number): void {
    this.#longest.set({ name }, seconds);
  }
  incReconcile(controller: string, result: ReconcileResult): void {
    this.#reconcile.inc({ controller, result });
  }
  incReconcileErrors(controller: string): void {
    this.#reconcileErrors.inc({ controller });
  }
  incTerminalErrors(controller: string): void {
    this.#terminalErrors.inc({ controller });
  }
  observeReconcileTime(controller: string, seconds: number): void {
    this.#reconcileTime.observe({ controller }, seconds);
  }
  setActiveWorkers(controller: string, workers: number): void {
    this.#activeWorkers.set({ controller }, workers);
  }
  incHandlerErrors(controller: string): void {
    this.#handlerErrors.inc({ controller });
  }
}

/** client-go's leader_election_master_status, one series per bucket Lease, plus the bucket set. */
export class PromLeaderMetrics {
  readonly #master: Gauge<'name'>;
  readonly #held: Gauge<'name'>;
  readonly #live: Gauge<'name'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#master = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. name is the string used to identify the lease.',
      labelNames: ['name'],
      registers,
    });
    this.#held = new Gauge({
      name: 'leader_election_buckets_held',
      help: 'Number of bucket Leases of the set this replica holds',
      labelNames: ['name'],
      registers,
    });
    this.#live = new Gauge({
      name: 'leader_election_live_replicas',
      help: 'Number of replicas of the Lease set this replica sees alive',
      labelNames: ['name'],
      registers,
    });
  }

  setMasterStatus(leaseName: string, leading: boolean): void {
    this.#master.set({ name: leaseName }, leading ? 1 : 0);
  }
  setBucketsHeld(name: string, count: number): void {
    this.#held.set({ name }, count);
  }
  setLiveReplicas(name: string, count: number): void {
    this.#live.set({ name }, count);
  }
}
