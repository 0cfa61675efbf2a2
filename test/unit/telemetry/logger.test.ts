import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/telemetry/logger.ts';

function capture(format: 'json' | 'text', level: 'debug' | 'info' = 'info') {
  const out = new PassThrough();
  const lines: string[] = [];
  out.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  return { log: createLogger({ level, format, destination: out }), lines };
}

describe('createLogger', () => {
  it('writes one JSON object a line with the seed field names', () => {
    const { log, lines } = capture('json');
    log
      .child({ component: 'csi' })
      .info({ operation: 'CreateSnapshot', snapshot_id: 's-1' }, 'snapshot requested');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      level: 'info',
      component: 'csi',
      operation: 'CreateSnapshot',
      snapshot_id: 's-1',
      message: 'snapshot requested',
    });
    expect(new Date(entry.timestamp).toISOString()).toBe(entry.timestamp);
  });

  it('honours the level', () => {
    const { log, lines } = capture('json', 'info');
    log.debug('hidden');
    log.warn('shown');
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['shown']);
  });

  it('never writes a password, token or private key, at the top level or nested', () => {
    const { log, lines } = capture('json');
    log.info(
      {
        password: 'hunter2',
        token: 'eyJhbGciOi',
        secret: { 'tls.key': '-----BEGIN EC PRIVATE KEY-----', password: 'p4ss' },
      },
      'credentials resolved',
    );
    const line = lines.join('\n');
    for (const secret of ['hunter2', 'eyJhbGciOi', 'BEGIN EC PRIVATE KEY', 'p4ss'])
      expect(line).not.toContain(secret);
    expect(line).toContain('[REDACTED]');
  });

  it('renders text lines for humans', () => {
    const { log, lines } = capture('text');
    log.child({ component: 'main' }).info({ signal: 'SIGTERM' }, 'shutting down');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO \[main\] shutting down signal=SIGTERM$/);
  });
});

describe('createLogger redaction', () => {
  it('keeps work-queue and etcd keys, which are not secrets', () => {
    const { log, lines } = capture('json');
    log.info({ key: 'etcd-a/backup-1', etcd: { key: '/registry/pods' } }, 'reconciling');
    expect(JSON.parse(lines[0]!)).toMatchObject({ key: 'etcd-a/backup-1', etcd: { key: '/registry/pods' } });
  });
});

describe('createLogger trace fields and parsing', () => {
  it('adds trace_id and span_id of the active span, and nothing without one', async () => {
    const { trace } = await import('@opentelemetry/api');
    const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace');
    const { startTracing, TRACER_NAME } = await import('../../../src/telemetry/tracing.ts');
    const { log, lines } = capture('json');
    log.info('outside');
    const tracing = await startTracing({
      exporter: 'otlp',
      spanExporter: new InMemorySpanExporter(),
      sampleRatio: 1,
    });
    try {
      trace.getTracer(TRACER_NAME).startActiveSpan('op', (span) => {
        log.info('inside');
        const entry = JSON.parse(lines[1]!);
        expect(entry.trace_id).toBe(span.spanContext().traceId);
        expect(entry.span_id).toBe(span.spanContext().spanId);
        span.end();
      });
    } finally {
      await tracing.shutdown();
    }
    expect(JSON.parse(lines[0]!)).not.toHaveProperty('trace_id');
  });

  it('parses levels and formats, naming a bad value', async () => {
    const { parseLogFormat, parseLogLevel } = await import('../../../src/telemetry/logger.ts');
    expect(parseLogLevel('WARN')).toBe('warn');
    expect(parseLogFormat('text')).toBe('text');
    expect(() => parseLogLevel('trace')).toThrow(/log level "trace" is not one of debug, info, warn, error/);
    expect(() => parseLogFormat('xml')).toThrow(/log format "xml" is not one of json, text/);
  });
});
