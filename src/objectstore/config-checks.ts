// The single-value checks of parseStoreConfig: each returns the value as the config keeps it or
// throws a StoreConfigError naming the key and the value.
import { StoreConfigError } from './config-error.ts';

export function oneOf<T extends string>(key: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new StoreConfigError(key, `is not one of ${allowed.join(', ')}`, value);
}

export function wholeNumber(key: string, value: string, range: { min: number; max: number }): number {
  const n = /^\d{1,12}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw new StoreConfigError(key, `is not a whole number in [${range.min}, ${range.max}]`, value);
  }
  return n;
}

/** S3's bucket naming rules (general purpose buckets): what every S3-compatible store accepts. */
export function checkBucket(value: string): string {
  if (
    !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) ||
    value.includes('..') ||
    /^\d+\.\d+\.\d+\.\d+$/.test(value)
  ) {
    throw new StoreConfigError(
      'bucket',
      'is not an S3 bucket name (3–63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)',
      value,
    );
  }
  return value;
}

export function checkRegion(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(value)) {
    throw new StoreConfigError('region', 'is not a region name like us-east-1', value);
  }
  return value;
}

/**
 * A key prefix: segments of letters, digits and `._-` joined by `/`. Slashes at either end are
 * dropped; empty, `.` or `..` segments are refused (stores differ on what they make of them).
 */
export function checkPrefix(value: string): string {
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  const segments = trimmed.split('/');
  if (
    trimmed.length > 512 ||
    segments.some((s) => s === '' || s === '.' || s === '..' || !/^[A-Za-z0-9._-]+$/.test(s))
  ) {
    throw new StoreConfigError(
      'prefix',
      'is not a key prefix (segments of letters, digits, ".", "_", "-" joined by "/", at most 512 characters)',
      value,
    );
  }
  return trimmed;
}

/** http(s)://host[:port][/] only: a path, query or user info would change what the SDK signs. */
export function checkEndpoint(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    (url.pathname !== '/' && url.pathname !== '')
  ) {
    // The value may hold user info: quote it only when it has none.
    const safe = !/\/\/[^/]*@/.test(value);
    throw new StoreConfigError(
      'endpoint',
      'is not an http:// or https:// URL of a host and optional port (no path, query or user info)',
      safe ? value : '<redacted: holds user info>',
    );
  }
  return `${url.protocol}//${url.host}`;
}

export function checkCaBundle(value: string): string {
  if (!value.includes('-----BEGIN CERTIFICATE-----') || !value.includes('-----END CERTIFICATE-----')) {
    throw new StoreConfigError('ca.crt', 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  }
  if (value.length > 1024 * 1024) throw new StoreConfigError('ca.crt', 'is larger than 1 MiB');
  return value;
}
