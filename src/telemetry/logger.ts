// Structured logging with the seed's field names (§15): timestamp, level, component, message, and
// operation fields added by callers (operation, snapshot_id, source_volume_id, cluster_name,
// duration_seconds, status); trace_id and span_id come from the active span on their own. JSON
// by default, one object a line; `text` renders the same line for humans.
//
// Secrets never reach the output, in three layers:
// 1. pino's redaction of fields named like secrets at the top level and one level down (cheap);
// 2. a scrub of every serialized line: the value of a secret-named field at any depth (errors
//    and requests nest them), CSI `secrets` maps, and any PEM private key block anywhere, even
//    inside an error message or a stack;
// 3. values registered with registerSecret() (a loaded etcd password, a client key) replaced
//    wherever they appear, whatever field or message carries them.
// No line exceeds MAX_LOG_LINE_BYTES (log-bounds.ts): a request value of megabytes is cut.
import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { type Logger, pino } from 'pino';
import { boundLine } from './log-bounds.ts';

export type { Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go; stdout when unset. */
  destination?: NodeJS.WritableStream;
}

export const REDACTED = '[REDACTED]';

// Field names whose values never reach a log line, at the top level or one level down. A bare
// `key` is not among them: work-queue and etcd keys are logged on purpose.
const SECRET_PATHS = [
  'password',
  'token',
  'privateKey',
  'authorization',
  'secrets',
  '["tls.key"]',
  '*.password',
  '*.token',
  '*.privateKey',
  '*.authorization',
  '*.secrets',
  '*["tls.key"]',
];

// The same names at any depth of the serialized line (layer 2). A JSON string value is
// `"(?:[^"\\]|\\.)*"`; a CSI secrets map is a flat object of strings.
const SECRET_FIELD =
  /"(password|passwd|token|privateKey|private_key|authorization|client_secret|tls\.key|ca\.key)"\s*:\s*"(?:[^"\\]|\\.)*"/gi;
const SECRETS_MAP = /"secrets"\s*:\s*\{[^{}]*\}/g;
// PEM private keys of any kind (RSA, EC, PKCS#8, encrypted), raw or JSON-escaped.
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
// A block cut short (a truncated error message) still must not leak its base64 body.
const PEM_PRIVATE_KEY_OPEN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[A-Za-z0-9+/=\s]|\\n|\\r)*/g;

const registeredSecrets = new Set<string>();
const MAX_REGISTERED_SECRETS = 1024;
/** Shorter values would replace ordinary words; no real credential is that short. */
const MIN_SECRET_LENGTH = 6;

/**
 * Makes a secret value unloggable: every later line has it replaced, in any field or message.
 * Credentials code registers what it loads (passwords, private keys, tokens).
 */
export function registerSecret(value: string): void {
  if (value.length < MIN_SECRET_LENGTH) return;
  remember(value);
  // As it appears inside a JSON string (newlines of a PEM body become \n).
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) remember(escaped);
}

// Bounded, newest kept: a long-running driver reloads rotated keys and passwords, and the value
// loaded last is the one in use; the oldest registered is the one to forget.
function remember(value: string): void {
  registeredSecrets.delete(value);
  registeredSecrets.add(value);
  while (registeredSecrets.size > MAX_REGISTERED_SECRETS) {
    const oldest = registeredSecrets.values().next().value;
    if (oldest === undefined) break;
    registeredSecrets.delete(oldest);
  }
}

/** Layers 2 and 3 over one serialized line. */
export function scrubSecrets(line: string): string {
  let out = line
    .replace(PEM_PRIVATE_KEY, REDACTED)
    .replace(PEM_PRIVATE_KEY_OPEN, REDACTED)
    .replace(SECRET_FIELD, (_m, name: string) => `"${name}":"${REDACTED}"`)
    .replace(SECRETS_MAP, `"secrets":"${REDACTED}"`);
  for (const secret of registeredSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** trace_id and span_id of the span active where the line is logged (none without tracing). */
function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const sc = span.spanContext();
  if (!trace.isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

export function parseLogLevel(value: string): LogLevel {
  const v = value.toLowerCase();
  if (v === 'debug' || v === 'info' || v === 'warn' || v === 'error') return v;
  throw new Error(`log level "${value}" is not one of debug, info, warn, error`);
}

export function parseLogFormat(value: string): LogFormat {
  const v = value.toLowerCase();
  if (v === 'json' || v === 'text') return v;
  throw new Error(`log format "${value}" is not one of json, text`);
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  return pino(
    {
      level: options.level,
      messageKey: 'message',
      base: undefined,
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      mixin: traceFields,
      redact: { paths: SECRET_PATHS, censor: REDACTED },
      // Scrub the whole line first, then bound it: a cut must never split a secret it would hide.
      hooks: { streamWrite: (line) => boundLine(scrubSecrets(line)) },
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
