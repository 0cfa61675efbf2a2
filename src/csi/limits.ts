// The size limits of CSI request fields, in one place (docs/csi.md "Limits"), and how a request
// value is echoed in a message. Limits follow the CSI spec's general ones ("Size Limits": 128 bytes
// for a string, 4 KiB for a map<string, string>) except where a field needs more. The wire check
// (request-check.ts) applies them to every field of every served RPC before a handler runs, so no
// handler, message or log line ever holds an unbounded request value.

/** Any string field without a limit of its own: IDs, names, node IDs, fs types (CSI: 128 bytes). */
export const MAX_STRING_BYTES = 128;
/** Paths of the Node service (target_path, staging_target_path, volume_path): Linux PATH_MAX. */
export const MAX_PATH_BYTES = 4096;
/** ListSnapshots starting_token: the driver's tokens are at most 176 bytes. */
export const MAX_TOKEN_BYTES = 256;
/** A map<string, string> (parameters, volume_context, …): keys and values together (CSI: 4 KiB). */
export const MAX_MAP_BYTES = 4096;
export const MAX_MAP_ENTRIES = 32;
/**
 * `secrets` maps are a whole Secret the sidecars read for the class (certificates, many keys);
 * the driver never reads, logs or echoes them, so they only need a bound.
 */
export const MAX_SECRETS_BYTES = 64 * 1024;
export const MAX_SECRETS_ENTRIES = 256;
/** Entries of a repeated field (source_volume_ids, snapshot_ids, volume_capabilities, mount_flags). */
export const MAX_REPEATED = 64;

/** How many bytes of a request value a message or log line quotes. */
export const MAX_ECHO_BYTES = 64;
/** The whole `grpc-message` of an answer: far below HTTP/2's header limits. */
export const MAX_STATUS_DETAILS_BYTES = 1024;

/** The byte limit of a string field, by its name. */
export function stringLimit(field: string): number {
  if (field.endsWith('_path')) return MAX_PATH_BYTES;
  if (field === 'starting_token') return MAX_TOKEN_BYTES;
  return MAX_STRING_BYTES;
}

/** The byte and entry limits of a map field, by its name. */
export function mapLimit(field: string): { bytes: number; entries: number } {
  return field === 'secrets'
    ? { bytes: MAX_SECRETS_BYTES, entries: MAX_SECRETS_ENTRIES }
    : { bytes: MAX_MAP_BYTES, entries: MAX_MAP_ENTRIES };
}

/** The longest prefix of `text` that fits `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  return text.slice(0, end);
}

/**
 * A request value as messages quote it: JSON-quoted (control characters escaped), and cut to
 * MAX_ECHO_BYTES with the length of what was left out, so a 3 MiB ID costs a message 80 bytes.
 */
export function echo(value: unknown, maxBytes = MAX_ECHO_BYTES): string {
  // Decoded requests hold what the wire said: an enum the proto does not know arrives as a number.
  const text = typeof value === 'string' ? value : String(value);
  const total = Buffer.byteLength(text);
  if (total <= maxBytes) return JSON.stringify(text);
  const head = truncateUtf8(text, maxBytes);
  return `${JSON.stringify(`${head}…`)} (${total} bytes)`;
}
