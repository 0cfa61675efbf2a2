// Container logs in the CRI format a kubelet reads (`<RFC3339Nano> <stdout|stderr> <F|P> <text>`),
// one file per container run: pods/<uid>/<container>/<restartCount>.log. Keeping the timestamp on
// every record is what makes `kubectl logs --timestamps`, --since and --tail work as on a real node.
import { createWriteStream, type WriteStream } from 'node:fs';

export type LogStream = 'stdout' | 'stderr';

export interface LogRecord {
  /** RFC 3339 with nanoseconds, as containerd writes it. */
  time: string;
  stream: LogStream;
  /** A partial record (P) continues on the next record; a full one (F) ends a line. */
  partial: boolean;
  content: string;
}

// containerd cuts lines longer than this into partial records.
const MAX_RECORD_BYTES = 16 * 1024;

/** Now, as RFC 3339 with nine fractional digits (JS clocks give milliseconds). */
export function nanoTimestamp(date = new Date()): string {
  return date.toISOString().replace(/Z$/, '000000Z');
}

/** Splits a container's stdout and stderr into timestamped records appended to its log file. */
export class ContainerLogWriter {
  readonly #out: WriteStream;
  readonly #pending: Record<LogStream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  constructor(path: string) {
    this.#out = createWriteStream(path, { flags: 'a' });
    // A log file that cannot be written must not take the kubelet down.
    this.#out.on('error', () => undefined);
  }

  write(stream: LogStream, chunk: Buffer): void {
    let data = Buffer.concat([this.#pending[stream], chunk]);
    for (;;) {
      const newline = data.indexOf(0x0a);
      if (newline < 0) break;
      this.#record(stream, false, data.subarray(0, newline));
      data = data.subarray(newline + 1);
    }
    while (data.length >= MAX_RECORD_BYTES) {
      this.#record(stream, true, data.subarray(0, MAX_RECORD_BYTES));
      data = data.subarray(MAX_RECORD_BYTES);
    }
    this.#pending[stream] = Buffer.from(data);
  }

  /** Writes what is left of unterminated lines (as partial records) and closes the file. */
  close(): Promise<void> {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#pending[stream].length > 0) this.#record(stream, true, this.#pending[stream]);
      this.#pending[stream] = Buffer.alloc(0);
    }
    return new Promise((resolve) => this.#out.end(resolve));
  }

  #record(stream: LogStream, partial: boolean, content: Buffer): void {
    this.#out.write(`${nanoTimestamp()} ${stream} ${partial ? 'P' : 'F'} `);
    this.#out.write(content);
    this.#out.write('\n');
  }
}

export function parseLogRecord(line: string): LogRecord | undefined {
  const first = line.indexOf(' ');
  const second = line.indexOf(' ', first + 1);
  const third = line.indexOf(' ', second + 1);
  if (first < 0 || second < 0 || third < 0) return undefined;
  const stream = line.slice(first + 1, second);
  const tag = line.slice(second + 1, third);
  if ((stream !== 'stdout' && stream !== 'stderr') || (tag !== 'F' && tag !== 'P')) return undefined;
  return { time: line.slice(0, first), stream, partial: tag === 'P', content: line.slice(third + 1) };
}

/** Parses a log file's bytes; a trailing line without newline (being written) is left for later. */
export function parseLogText(data: Buffer | string): { records: LogRecord[]; consumed: number } {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const records: LogRecord[] = [];
  let start = 0;
  for (;;) {
    const newline = bytes.indexOf(0x0a, start);
    if (newline < 0) break;
    const record = parseLogRecord(bytes.toString('utf8', start, newline));
    if (record) records.push(record);
    start = newline + 1;
  }
  return { records, consumed: start };
}

export interface LogQuery {
  /** Only the last N records. */
  tailLines?: number;
  /** Only records at or after this time. */
  since?: Date;
  timestamps?: boolean;
}

/** Filters records by the query (since, then tail), as the kubelet's ReadLogs does. */
export function selectRecords(records: readonly LogRecord[], query: LogQuery): LogRecord[] {
  let selected = records as LogRecord[];
  if (query.since) {
    const since = query.since.getTime();
    selected = selected.filter((r) => Date.parse(r.time) >= since);
  }
  if (query.tailLines !== undefined) {
    selected = query.tailLines <= 0 ? [] : selected.slice(-query.tailLines);
  }
  return selected;
}

/** The bytes a client gets for these records: text, newlines for full records, optional timestamps. */
export function renderRecords(records: readonly LogRecord[], timestamps: boolean): string {
  let out = '';
  for (const r of records) {
    if (timestamps) out += `${r.time} `;
    out += r.content;
    if (!r.partial) out += '\n';
  }
  return out;
}

/**
 * The tail of a container's output for a termination message (terminationMessagePolicy
 * FallbackToLogsOnError): the last 80 lines, at most 2048 bytes, as the kubelet takes them.
 */
export function logTail(text: Buffer | string, maxLines = 80, maxBytes = 2048): string {
  const rendered = renderRecords(selectRecords(parseLogText(text).records, { tailLines: maxLines }), false);
  const bytes = Buffer.from(rendered, 'utf8');
  return bytes.length <= maxBytes ? rendered : bytes.subarray(bytes.length - maxBytes).toString('utf8');
}
