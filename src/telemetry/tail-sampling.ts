// Sampling per seed §15: a configurable ratio of traces, but every trace with an error and every
// operation slower than 100 s kept. A head sampler cannot know either at a root span's start, so
// the decision has two halves:
//
// 1. SnapshotSampler (head): a root is *sampled* when its trace ID falls in the ratio (the SDK's
//    trace-ID ratio test, deterministic, so every process decides the same for one trace ID);
//    children follow their parent's sampled flag, in this process and across processes (the
//    traceparent carries it into records and Jobs). Unlike a plain parent-based sampler, spans
//    that are not sampled are still *recorded* (RECORD, flag 0), so their outcome is known.
//
// 2. TailSamplingSpanProcessor (tail): sampled spans go straight to the exporting processor.
//    Recorded-but-unsampled spans are buffered per trace ID until every span of that trace that
//    this process started has ended; then the segment is kept (exported, flagged sampled) when
//    any span in it failed, lasted ≥ the slow threshold, or carries `sampling.priority` ≥ 1, and
//    dropped otherwise. A dropped segment waits in a bounded rescue window: if a later segment of
//    the same trace is kept (a reconcile that fails minutes after the RPC ended fine), the
//    earlier segments are exported with it, so within one process an error trace is whole.
//
// Limits (all bounded, all documented in docs/observability.md): at most `maxBufferedSpans`
// spans wait for a decision (past it the oldest trace is decided early, on what it holds), at
// most `maxSpansPerTrace` per trace (more are counted, not kept), and the rescue window holds at
// most `maxRescueSpans` spans for `rescueWindowMs`. Segments of one trace in *other* processes
// decide on their own: an error in a Job's agent keeps the agent's spans and, through the failed
// AwaitJob span, the reconcile's; an RPC span served by another replica whose trace fails later
// is not recovered (a collector with tail sampling can do that, see the docs).
import {
  type Attributes,
  type Context,
  type Link,
  type SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import {
  type ReadableSpan,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  type Span,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';

/** An attribute a caller sets (to 1) to keep its trace whatever the ratio: OpenTracing's name. */
export const FORCE_KEEP_ATTRIBUTE = 'sampling.priority';
export const SLOW_OPERATION_SECONDS = 100;

export class SnapshotSampler implements Sampler {
  readonly #ratio: TraceIdRatioBasedSampler;
  readonly #ratioValue: number;
  readonly #recordUnsampled: boolean;

  /**
   * @param ratio share of root traces sampled up front, 0…1
   * @param recordUnsampled record the rest for the tail decision (false: plain parent-based ratio)
   */
  constructor(ratio: number, recordUnsampled = true) {
    if (!(ratio >= 0 && ratio <= 1)) throw new Error(`trace sample ratio must be within 0…1, got ${ratio}`);
    this.#ratioValue = ratio;
    this.#ratio = new TraceIdRatioBasedSampler(ratio);
    this.#recordUnsampled = recordUnsampled;
  }

  shouldSample(
    context: Context,
    traceId: string,
    _spanName: string,
    _spanKind: SpanKind,
    _attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    const parent = trace.getSpanContext(context);
    const sampled =
      parent !== undefined && trace.isSpanContextValid(parent)
        ? (parent.traceFlags & TraceFlags.SAMPLED) !== 0
        : this.#ratio.shouldSample(context, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
    if (sampled) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return { decision: this.#recordUnsampled ? SamplingDecision.RECORD : SamplingDecision.NOT_RECORD };
  }

  toString(): string {
    return `SnapshotSampler{ratio=${this.#ratioValue}, parent-based, errors and slow operations kept by the tail processor}`;
  }
}

export interface TailSamplingOptions {
  /** Spans at least this long keep their trace (seconds). */
  slowThresholdSeconds?: number;
  maxBufferedSpans?: number;
  maxSpansPerTrace?: number;
  rescueWindowMs?: number;
  maxRescueSpans?: number;
  /** Clock for tests. */
  now?: () => number;
}

export interface TailSamplingStats {
  /** Unsampled segments exported because of an error, a slow span or a force-keep attribute. */
  keptSegments: number;
  droppedSegments: number;
  /** Dropped segments exported later because their trace was kept. */
  rescuedSegments: number;
  /** Spans lost to the bounds (per-trace cap, early decisions past the buffer bound). */
  overflowSpans: number;
  bufferedSpans: number;
  rescueSpans: number;
}

interface Pending {
  spans: ReadableSpan[];
  open: number;
  keep: boolean;
  startedAt: number;
}

interface Dropped {
  spans: ReadableSpan[];
  at: number;
}

export class TailSamplingSpanProcessor implements SpanProcessor {
  readonly #next: SpanProcessor;
  readonly #slowSeconds: number;
  readonly #maxBuffered: number;
  readonly #maxPerTrace: number;
  readonly #rescueWindowMs: number;
  readonly #maxRescue: number;
  readonly #now: () => number;
  // Insertion-ordered, so the first entry is the oldest trace when a bound is hit.
  readonly #pending = new Map<string, Pending>();
  readonly #dropped = new Map<string, Dropped>();
  #buffered = 0;
  #rescueCount = 0;
  readonly #stats = { keptSegments: 0, droppedSegments: 0, rescuedSegments: 0, overflowSpans: 0 };

  /** @param next the processor that exports (a BatchSpanProcessor around the exporter) */
  constructor(next: SpanProcessor, options: TailSamplingOptions = {}) {
    this.#next = next;
    this.#slowSeconds = options.slowThresholdSeconds ?? SLOW_OPERATION_SECONDS;
    this.#maxBuffered = options.maxBufferedSpans ?? 4096;
    this.#maxPerTrace = options.maxSpansPerTrace ?? 512;
    this.#rescueWindowMs = options.rescueWindowMs ?? 15 * 60_000;
    this.#maxRescue = options.maxRescueSpans ?? 4096;
    this.#now = options.now ?? Date.now;
  }

  stats(): TailSamplingStats {
    return { ...this.#stats, bufferedSpans: this.#buffered, rescueSpans: this.#rescueCount };
  }

  onStart(span: Span, parentContext: Context): void {
    const ctx = span.spanContext();
    if ((ctx.traceFlags & TraceFlags.SAMPLED) !== 0) {
      this.#next.onStart(span, parentContext);
      return;
    }
    let pending = this.#pending.get(ctx.traceId);
    if (pending === undefined) {
      pending = { spans: [], open: 0, keep: false, startedAt: this.#now() };
      this.#pending.set(ctx.traceId, pending);
    }
    pending.open++;
  }

  onEnd(span: ReadableSpan): void {
    const ctx = span.spanContext();
    if ((ctx.traceFlags & TraceFlags.SAMPLED) !== 0) {
      this.#next.onEnd(span);
      return;
    }
    const pending = this.#pending.get(ctx.traceId);
    if (pending === undefined) {
      // Its trace was decided early (buffer bound): it follows that decision alone.
      if (this.#wantsKeeping(span)) this.#next.onEnd(asSampled(span));
      else this.#stats.overflowSpans++;
      return;
    }
    pending.open--;
    if (this.#wantsKeeping(span)) pending.keep = true;
    if (pending.spans.length < this.#maxPerTrace) {
      pending.spans.push(span);
      this.#buffered++;
    } else {
      this.#stats.overflowSpans++;
    }
    if (pending.open <= 0) this.#decide(ctx.traceId, pending);
    this.#enforceBufferBound();
  }

  #wantsKeeping(span: ReadableSpan): boolean {
    if (span.status.code === SpanStatusCode.ERROR) return true;
    const [seconds, nanos] = span.duration;
    if (seconds + nanos / 1e9 >= this.#slowSeconds) return true;
    const priority = span.attributes[FORCE_KEEP_ATTRIBUTE];
    return typeof priority === 'number' && priority >= 1;
  }

  #decide(traceId: string, pending: Pending): void {
    this.#pending.delete(traceId);
    this.#buffered -= pending.spans.length;
    if (pending.keep) {
      this.#stats.keptSegments++;
      const earlier = this.#dropped.get(traceId);
      if (earlier !== undefined) {
        this.#dropped.delete(traceId);
        this.#rescueCount -= earlier.spans.length;
        this.#stats.rescuedSegments++;
        for (const s of earlier.spans) this.#next.onEnd(asSampled(s));
      }
      for (const s of pending.spans) this.#next.onEnd(asSampled(s));
      return;
    }
    this.#stats.droppedSegments++;
    this.#remember(traceId, pending.spans);
  }

  #remember(traceId: string, spans: ReadableSpan[]): void {
    if (this.#rescueWindowMs <= 0 || this.#maxRescue <= 0) return;
    const now = this.#now();
    const entry = this.#dropped.get(traceId);
    if (entry === undefined)
      this.#dropped.set(traceId, { spans: spans.slice(0, this.#maxPerTrace), at: now });
    else {
      const room = Math.max(0, this.#maxPerTrace - entry.spans.length);
      entry.spans.push(...spans.slice(0, room));
      entry.at = now;
      // Move it to the end: it is the newest now.
      this.#dropped.delete(traceId);
      this.#dropped.set(traceId, entry);
    }
    this.#rescueCount += Math.min(spans.length, this.#maxPerTrace);
    for (const [id, old] of this.#dropped) {
      if (this.#rescueCount <= this.#maxRescue && now - old.at < this.#rescueWindowMs) break;
      this.#dropped.delete(id);
      this.#rescueCount -= old.spans.length;
    }
  }

  #enforceBufferBound(): void {
    while (this.#buffered > this.#maxBuffered) {
      const oldest = this.#pending.entries().next();
      if (oldest.done) return;
      const [traceId, pending] = oldest.value;
      // Decided early on what it holds; its spans still open follow alone (see onEnd).
      this.#decide(traceId, pending);
    }
  }

  async forceFlush(): Promise<void> {
    await this.#next.forceFlush();
  }

  async shutdown(): Promise<void> {
    // Segments still open at shutdown are decided on what they hold, so errors are not lost.
    for (const [traceId, pending] of [...this.#pending]) this.#decide(traceId, pending);
    await this.#next.shutdown();
  }
}

/** The same ended span with the sampled flag set, so exporting processors take it. */
function asSampled(span: ReadableSpan): ReadableSpan {
  const ctx = span.spanContext();
  const sampled = { ...ctx, traceFlags: ctx.traceFlags | TraceFlags.SAMPLED };
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => sampled,
    ...(span.parentSpanContext ? { parentSpanContext: span.parentSpanContext } : {}),
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes: span.attributes,
    links: span.links,
    events: span.events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}
