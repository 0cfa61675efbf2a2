// How much of a value a log line carries. Requests and errors can hold values of megabytes (a
// 3 MiB volume ID once made a 3 MiB line); a log line quotes the start of each long string, the
// first entries of each long list, and says how much it left out. The logger applies the same
// bound to every line as a last guard (boundLine), after secrets are scrubbed from the full line.

export const MAX_LOG_STRING_BYTES = 256;
export const MAX_LOG_ENTRIES = 16;
export const MAX_LOG_DEPTH = 6;
/** No line is longer than this, whatever it carries. */
export const MAX_LOG_LINE_BYTES = 16 * 1024;

function cutString(value: string, maxBytes: number): string {
  const total = Buffer.byteLength(value);
  if (total <= maxBytes) return value;
  // Cutting the UTF-8 bytes may split a character; the decoder drops the broken tail.
  const head = Buffer.from(value)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  return `${head}…(${total} bytes)`;
}

/** A copy of `value` with long strings cut, long arrays and objects shortened, deep nesting cut. */
export function boundForLog(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return cutString(value, MAX_LOG_STRING_BYTES);
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (depth >= MAX_LOG_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) {
    const shown = value.slice(0, MAX_LOG_ENTRIES).map((v) => boundForLog(v, depth + 1));
    if (value.length > MAX_LOG_ENTRIES) shown.push(`…(${value.length - MAX_LOG_ENTRIES} more)`);
    return shown;
  }
  const entries = Object.entries(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries.slice(0, MAX_LOG_ENTRIES * 2)) {
    out[cutString(k, MAX_LOG_STRING_BYTES)] = boundForLog(v, depth + 1);
  }
  if (entries.length > MAX_LOG_ENTRIES * 2) out['…'] = `${entries.length - MAX_LOG_ENTRIES * 2} more fields`;
  return out;
}

/**
 * One serialized JSON line, at most MAX_LOG_LINE_BYTES: a longer one has its values bounded, and
 * if that is not enough keeps only its timestamp, level, component and the start of its message.
 */
export function boundLine(line: string): string {
  if (line.length <= MAX_LOG_LINE_BYTES / 4 || Buffer.byteLength(line) <= MAX_LOG_LINE_BYTES) return line;
  const newline = line.endsWith('\n') ? '\n' : '';
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${cutString(line.trimEnd(), MAX_LOG_LINE_BYTES - 64)}${newline}`;
  }
  const bounded = JSON.stringify(boundForLog(parsed));
  if (Buffer.byteLength(bounded) <= MAX_LOG_LINE_BYTES) return `${bounded}${newline}`;
  const { timestamp, level, component, message } = parsed;
  return `${JSON.stringify({
    timestamp,
    level,
    ...(component === undefined ? {} : { component }),
    message: cutString(String(message ?? ''), 1024),
    truncated_bytes: Buffer.byteLength(line),
  })}${newline}`;
}
