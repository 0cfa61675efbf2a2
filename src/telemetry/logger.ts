// Structured logging with the seed's field names (§15): timestamp, level, component, message, and
// operation fields added by callers. JSON by default, one object a line; `text` for humans.
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: 'debug' | 'info' | 'warn' | 'error';
  format: 'json' | 'text';
  /** Where lines go; stdout when unset. */
  destination?: NodeJS.WritableStream;
}

// Field names whose values never reach a log line, at the top level or one level down. A bare
// `key` is not among them: work-queue and etcd keys are logged on purpose.
const SECRET_PATHS = [
  'password',
  'token',
  'privateKey',
  'authorization',
  '["tls.key"]',
  '*.password',
  '*.token',
  '*.privateKey',
  '*.authorization',
  '*["tls.key"]',
];

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  return pino(
    {
      level: options.level,
      messageKey: 'message',
      base: undefined,
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: SECRET_PATHS, censor: '[REDACTED]' },
    },
    options.format === 'json' ? destination : textStream(destination),
  );
}

/** Renders each JSON line as `timestamp LEVEL [component] message key=value …`. */
function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        const { timestamp, level, component, message, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const fields = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        out.write(
          `${String(timestamp)} ${String(level).toUpperCase()} ${component ? `[${String(component)}] ` : ''}${String(message ?? '')}${fields ? ` ${fields}` : ''}\n`,
        );
      }
      done();
    },
  });
}
