// Metric hooks of the workqueue and the controller. src/telemetry owns the prom-client registry
// and implements this interface; the runtime only calls it. Names and labels follow client-go's
// workqueue and controller-runtime so existing dashboards work:
//
//   hook                        family                                          type       labels
//   setDepth                    workqueue_depth                                 gauge      name
//   incAdds                     workqueue_adds_total                            counter    name
//   observeQueueDuration        workqueue_queue_duration_seconds                histogram  name
//   observeWorkDuration         workqueue_work_duration_seconds                 histogram  name
//   incRetries                  workqueue_retries_total                         counter    name
//   setUnfinishedWork           workqueue_unfinished_work_seconds               gauge      name
//   setLongestRunningProcessor  workqueue_longest_running_processor_seconds     gauge      name
//   incReconcile                controller_runtime_reconcile_total              counter    controller, result
//   incReconcileErrors          controller_runtime_reconcile_errors_total       counter    controller
//   incTerminalErrors           controller_runtime_terminal_reconcile_errors_total counter  controller
//   observeReconcileTime        controller_runtime_reconcile_time_seconds       histogram  controller
//   setActiveWorkers            controller_runtime_active_workers               gauge      controller
//   incHandlerErrors            controller_runtime_event_handler_errors_total   counter    controller
//
// The workqueue `name` label is the controller's name, as in controller-runtime.

/** controller-runtime's `result` label values. */
export type ReconcileResultLabel = 'success' | 'error' | 'requeue_after';

export interface WorkqueueMetrics {
  setDepth(name: string, depth: number): void;
  incAdds(name: string): void;
  observeQueueDuration(name: string, seconds: number): void;
  observeWorkDuration(name: string, seconds: number): void;
  incRetries(name: string): void;
  setUnfinishedWork(name: string, seconds: number): void;
  setLongestRunningProcessor(name: string, seconds: number): void;
}

export interface ReconcileMetrics {
  incReconcile(controller: string, result: ReconcileResultLabel): void;
  /** Every failed reconcile, terminal or not. */
  incReconcileErrors(controller: string): void;
  incTerminalErrors(controller: string): void;
  observeReconcileTime(controller: string, seconds: number): void;
  setActiveWorkers(controller: string, workers: number): void;
  /** An event handler or predicate threw; the event was skipped. */
  incHandlerErrors(controller: string): void;
}

export interface ControllerMetrics extends WorkqueueMetrics, ReconcileMetrics {}

const noop = () => {};

export const noopControllerMetrics: ControllerMetrics = {
  setDepth: noop,
  incAdds: noop,
  observeQueueDuration: noop,
  observeWorkDuration: noop,
  incRetries: noop,
  setUnfinishedWork: noop,
  setLongestRunningProcessor: noop,
  incReconcile: noop,
  incReconcileErrors: noop,
  incTerminalErrors: noop,
  observeReconcileTime: noop,
  setActiveWorkers: noop,
  incHandlerErrors: noop,
};

/**
 * Keeps every sample in memory under its Prometheus family name and labels, for tests (and for
 * telemetry's tests of its own implementation): `counter('workqueue_adds_total', { name: 'x' })`.
 */
export class RecordingControllerMetrics implements ControllerMetrics {
  readonly values = new Map<string, number>();
  readonly observations = new Map<string, number[]>();

  value(family: string, labels: Record<string, string>): number {
    return this.values.get(seriesKey(family, labels)) ?? 0;
  }
  observed(family: string, labels: Record<string, string>): number[] {
    return this.observations.get(seriesKey(family, labels)) ?? [];
  }

  setDepth(name: string, depth: number): void {
    this.#set('workqueue_depth', { name }, depth);
  }
  incAdds(name: string): void {
    this.#inc('workqueue_adds_total', { name });
  }
  observeQueueDuration(name: string, seconds: number): void {
    this.#observe('workqueue_queue_duration_seconds', { name }, seconds);
  }
  observeWorkDuration(name: string, seconds: number): void {
    this.#observe('workqueue_work_duration_seconds', { name }, seconds);
  }
  incRetries(name: string): void {
    this.#inc('workqueue_retries_total', { name });
  }
  setUnfinishedWork(name: string, seconds: number): void {
    this.#set('workqueue_unfinished_work_seconds', { name }, seconds);
  }
  setLongestRunningProcessor(name: string, seconds: number): void {
    this.#set('workqueue_longest_running_processor_seconds', { name }, seconds);
  }
  incReconcile(controller: string, result: ReconcileResultLabel): void {
    this.#inc('controller_runtime_reconcile_total', { controller, result });
  }
  incReconcileErrors(controller: string): void {
    this.#inc('controller_runtime_reconcile_errors_total', { controller });
  }
  incTerminalErrors(controller: string): void {
    this.#inc('controller_runtime_terminal_reconcile_errors_total', { controller });
  }
  observeReconcileTime(controller: string, seconds: number): void {
    this.#observe('controller_runtime_reconcile_time_seconds', { controller }, seconds);
  }
  setActiveWorkers(controller: string, workers: number): void {
    this.#set('controller_runtime_active_workers', { controller }, workers);
  }
  incHandlerErrors(controller: string): void {
    this.#inc('controller_runtime_event_handler_errors_total', { controller });
  }

  #set(family: string, labels: Record<string, string>, value: number): void {
    this.values.set(seriesKey(family, labels), value);
  }
  #inc(family: string, labels: Record<string, string>): void {
    const key = seriesKey(family, labels);
    this.values.set(key, (this.values.get(key) ?? 0) + 1);
  }
  #observe(family: string, labels: Record<string, string>, value: number): void {
    const key = seriesKey(family, labels);
    const list = this.observations.get(key);
    if (list === undefined) this.observations.set(key, [value]);
    else list.push(value);
  }
}

/** `family{a="1",b="2"}` with labels sorted, as Prometheus prints a series. */
export function seriesKey(family: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return `${family}{${parts.join(',')}}`;
}
