// Parsers of one setting's text (a flag's, a variable's, or a config file key's): each checks the
// value's range and throws a ConfigError naming where the value came from and what it was.
import { ConfigError, shown } from './driver-config.ts';

export type ValueParser<T> = (raw: string, source: string) => T;

const fail = (source: string, what: string, raw: string) =>
  new ConfigError(`${source} must be ${what}, got ${shown(raw)}`);

export const text =
  (nonEmpty = true): ValueParser<string> =>
  (raw, source) => {
    if (nonEmpty && raw.trim() === '') throw new ConfigError(`${source} must not be empty`);
    return raw;
  };

/** Matches a pattern (described by `what`), e.g. a Kubernetes name. */
export const matching =
  (pattern: RegExp, what: string, maxLength: number): ValueParser<string> =>
  (raw, source) => {
    if (raw.length > maxLength || !pattern.test(raw)) throw fail(source, what, raw);
    return raw;
  };

/** A DNS-1123 label: namespaces. */
export const dnsLabel = matching(
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  'a DNS-1123 label (lower case letters, digits, "-"; at most 63)',
  63,
);

/** A DNS-1123 subdomain: ServiceAccounts, StorageClasses. */
export const dnsSubdomain = matching(
  /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
  'a DNS-1123 subdomain (lower case letters, digits, "-", "."; at most 253)',
  253,
);

export const integer =
  (min: number, max: number): ValueParser<number> =>
  (raw, source) => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      throw fail(source, `an integer from ${min} to ${max}`, raw);
    }
    return value;
  };

export const oneOf =
  <T extends string>(...allowed: T[]): ValueParser<T> =>
  (raw, source) => {
    if (!(allowed as string[]).includes(raw)) throw fail(source, `one of ${allowed.join(', ')}`, raw);
    return raw as T;
  };

/** A comma-separated, non-empty list of allowed words, without repeats. */
export const listOf =
  <T extends string>(...allowed: T[]): ValueParser<readonly T[]> =>
  (raw, source) => {
    const items = raw.split(',').map((s) => s.trim());
    const what = `a comma-separated list of ${allowed.join(', ')}`;
    if (items.some((i) => !(allowed as string[]).includes(i))) throw fail(source, what, raw);
    return [...new Set(items as T[])];
  };

/** A comma-separated list of `<namespace>/<name>` (a DNS-1123 label, then a subdomain), without repeats; '' is none. */
export const namespacedNames: ValueParser<readonly string[]> = (raw, source) => {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const ok = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
  if (items.some((i) => !ok.test(i)))
    throw fail(source, 'a comma-separated list of <namespace>/<secret>', raw);
  return [...new Set(items)];
};

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const seconds = (ms: number) => `${ms / 1000}s`;

/**
 * A duration in milliseconds from "15s", "1500ms", "2m", "1h" or bare seconds ("15").
 * wholeSeconds: the value ends up in an integer field of seconds (a Lease's duration).
 */
export const duration =
  (minMs: number, maxMs: number, { wholeSeconds = false } = {}): ValueParser<number> =>
  (raw, source) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
    const ms = m ? Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS] : Number.NaN;
    const whole = wholeSeconds ? 'of whole seconds ' : '';
    if (!Number.isFinite(ms) || ms < minMs || ms > maxMs || (wholeSeconds && ms % 1000 !== 0)) {
      throw fail(source, `a duration ${whole}from ${seconds(minMs)} to ${seconds(maxMs)} (e.g. 15s)`, raw);
    }
    return Math.round(ms);
  };

export const ratio: ValueParser<number> = (raw, source) => {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw fail(source, 'a number from 0 to 1', raw);
  }
  return value;
};

/** A Kubernetes quantity of bytes such as 10Gi, 500M or 1073741824. */
export const quantity: ValueParser<string> = (raw, source) => {
  if (!/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.test(raw.trim())) {
    throw fail(source, 'a quantity such as 10Gi', raw);
  }
  return raw.trim();
};

export const boolean: ValueParser<boolean> = (raw, source) => {
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw fail(source, 'true or false', raw);
};

const PORT = '(\\d{1,5})';
const validPort = (port: string | undefined) => Number(port) <= 65_535;

/** host:port, :port or [v6]:port (what node:http listens on); "0" turns the server off. */
export const bindAddress: ValueParser<string> = (raw, source) => {
  if (raw === '0') return raw;
  const m = new RegExp(`^(\\[[^\\]]+\\]|[^:[\\]]*):${PORT}$`).exec(raw);
  if (!m || !validPort(m[2])) throw fail(source, 'host:port, :port, [v6]:port or 0 (off)', raw);
  return raw;
};

/** unix:///absolute/path or tcp://host:port (host:port alone is TCP too). */
export const csiEndpoint: ValueParser<string> = (raw, source) => {
  if (raw.startsWith('unix:')) {
    const path = raw.startsWith('unix://') ? raw.slice('unix://'.length) : raw.slice('unix:'.length);
    if (path.length > 1 && path.startsWith('/')) return raw;
    throw fail(source, 'unix:///absolute/path (the socket path must be absolute)', raw);
  }
  const m = new RegExp(`^(?:tcp://)?(\\[[^\\]]+\\]|[^:/]*):${PORT}$`).exec(raw);
  if (!m || !validPort(m[2])) throw fail(source, 'unix:///absolute/path or tcp://host:port', raw);
  return raw;
};

/** An http(s) URL such as an exporter's endpoint. */
export const httpUrl: ValueParser<string> = (raw, source) => {
  if (!/^https?:\/\/[^/\s]+\S*$/.test(raw)) throw fail(source, 'an http(s) URL', raw);
  return raw;
};

/** A TCP port; the METRICS_PORT / metrics.port alias turns it into ":<port>". */
export const port: ValueParser<number> = integer(1, 65_535);
