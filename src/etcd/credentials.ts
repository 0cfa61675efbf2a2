// Client credentials for an etcd cluster, read from the user's Secret (by the pipeline, from the
// API) or from that Secret mounted as files (by the agent, in the Job). Accepted shapes:
// kubernetes.io/tls (tls.crt, tls.key, optional ca.crt), kubernetes.io/basic-auth (username,
// password, optional ca.crt) and Opaque Secrets with either set of keys. Errors name the Secret
// and the key, never a value; `describeCredentials` and `toJSON` print the kind only.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { registerSecret } from '../telemetry/logger.ts';
import { EtcdError } from './errors.ts';

/**
 * `source` names where the credentials came from ("Secret etcd/demo-tls"), `caSource` where the CA
 * came from when elsewhere ("bundle.crt of Secret etcd/demo-ca"); for messages only.
 */
export type EtcdCredentials =
  | { kind: 'none' }
  | {
      kind: 'tls';
      ca?: Buffer;
      cert: Buffer;
      key: Buffer;
      readonly source?: string;
      readonly caSource?: string;
    }
  | {
      kind: 'basic';
      username: string;
      password: string;
      ca?: Buffer;
      readonly source?: string;
      readonly caSource?: string;
    };

export const TLS_CERT_KEY = 'tls.crt';
export const TLS_KEY_KEY = 'tls.key';
export const CA_KEY = 'ca.crt';
export const USERNAME_KEY = 'username';
export const PASSWORD_KEY = 'password';

/** The fields of a v1 Secret this module reads (as the API returns it: `data` is base64). */
export interface SecretLike {
  metadata?: { name?: string; namespace?: string };
  type?: string;
  data?: Record<string, string>;
}

/** A Secret's data as text, key by key (held in memory only: never log or record it). */
export function secretText(secret: SecretLike): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

export const NO_CREDENTIALS: EtcdCredentials = Object.freeze({ kind: 'none' });

/** What may be logged about credentials: the kind, nothing else. */
export function describeCredentials(credentials: EtcdCredentials): string {
  return `EtcdCredentials(${credentials.kind})`;
}

// Credential objects end up in option bags that get logged or traced by accident; these make
// every stringification print the kind only. Non-enumerable, so equality checks ignore them
// (the source too: two reads of one Secret are the same credentials).
// Every loaded secret value is also registered with the logger, which then replaces it in any
// line, whatever field or message carries it (as read, and base64 as a Secret's data holds it).
function sealed<T extends EtcdCredentials>(credentials: T, source: string): T {
  const secret =
    credentials.kind === 'tls'
      ? credentials.key
      : credentials.kind === 'basic'
        ? Buffer.from(credentials.password)
        : undefined;
  if (secret) {
    registerSecret(secret.toString('utf8'));
    registerSecret(secret.toString('base64'));
  }
  const text = describeCredentials(credentials);
  Object.defineProperty(credentials, 'source', { value: source, enumerable: false });
  Object.defineProperty(credentials, 'toString', { value: () => text, enumerable: false });
  Object.defineProperty(credentials, 'toJSON', {
    value: () => ({ kind: credentials.kind }),
    enumerable: false,
  });
  Object.defineProperty(credentials, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => text,
    enumerable: false,
  });
  return credentials;
}

/** Credentials from a map of key → bytes; `source` names where they came from, for errors. */
export function credentialsFromEntries(
  entries: ReadonlyMap<string, Buffer>,
  source: string,
  type?: string,
): EtcdCredentials {
  const has = (k: string) => entries.has(k) && (entries.get(k)?.length ?? 0) > 0;
  const missing = (key: string, why: string) =>
    new EtcdError('AUTH_CERT_NOT_FOUND', `${source} has no key "${key}" (${why})`);
  const ca = has(CA_KEY) ? entries.get(CA_KEY) : undefined;

  const wantsTls =
    type === 'kubernetes.io/tls' ||
    ((type === undefined || type === 'Opaque') && (has(TLS_CERT_KEY) || has(TLS_KEY_KEY)));
  const wantsBasic =
    type === 'kubernetes.io/basic-auth' ||
    ((type === undefined || type === 'Opaque') && (has(USERNAME_KEY) || has(PASSWORD_KEY)));
  if (wantsTls && wantsBasic) {
    throw new EtcdError(
      'AUTH_CERT_NOT_FOUND',
      `${source} holds both a client certificate (${TLS_CERT_KEY}/${TLS_KEY_KEY}) and a user (${USERNAME_KEY}/${PASSWORD_KEY}); keep one`,
    );
  }
  if (wantsTls) {
    if (!has(TLS_CERT_KEY)) throw missing(TLS_CERT_KEY, 'the client certificate');
    if (!has(TLS_KEY_KEY)) throw missing(TLS_KEY_KEY, 'the client key');
    return sealed(
      {
        kind: 'tls',
        cert: entries.get(TLS_CERT_KEY) as Buffer,
        key: entries.get(TLS_KEY_KEY) as Buffer,
        ...(ca ? { ca } : {}),
      },
      source,
    );
  }
  if (wantsBasic) {
    if (!has(USERNAME_KEY)) throw missing(USERNAME_KEY, 'the etcd user');
    if (!has(PASSWORD_KEY)) throw missing(PASSWORD_KEY, "the etcd user's password");
    return sealed(
      {
        kind: 'basic',
        username: (entries.get(USERNAME_KEY) as Buffer).toString('utf8'),
        password: (entries.get(PASSWORD_KEY) as Buffer).toString('utf8'),
        ...(ca ? { ca } : {}),
      },
      source,
    );
  }
  if (type !== undefined && type !== 'Opaque') {
    throw new EtcdError(
      'AUTH_CERT_NOT_FOUND',
      `${source} has type ${type}; etcd credentials need kubernetes.io/tls, kubernetes.io/basic-auth or Opaque`,
    );
  }
  throw new EtcdError(
    'AUTH_CERT_NOT_FOUND',
    `${source} has neither ${TLS_CERT_KEY}+${TLS_KEY_KEY} nor ${USERNAME_KEY}+${PASSWORD_KEY}`,
  );
}

/**
 * The credentials with the CA of the members' certificates taken from another Secret's key
 * (etcd-druid keeps it apart from the client key pair: tlsCASecretRef).
 */
export function withCaFromSecret(
  credentials: EtcdCredentials,
  secret: SecretLike,
  key: string,
): EtcdCredentials {
  const name = `Secret ${secret.metadata?.namespace ? `${secret.metadata.namespace}/` : ''}${secret.metadata?.name ?? '(unnamed)'}`;
  const value = secret.data?.[key];
  if (typeof value !== 'string' || value === '') {
    throw new EtcdError(
      'AUTH_CERT_NOT_FOUND',
      `${name} has no key "${key}" (the CA of the members' certificates)`,
    );
  }
  if (credentials.kind === 'none') {
    throw new EtcdError(
      'AUTH_CERT_NOT_FOUND',
      `the CA is in ${name}, but no Secret with a client certificate is named`,
    );
  }
  const copy = sealed({ ...credentials, ca: Buffer.from(value, 'base64') }, credentials.source ?? name);
  Object.defineProperty(copy, 'caSource', { value: `${key} of ${name}`, enumerable: false });
  return copy;
}

/** Credentials from a Secret object as the API returns it. */
export function credentialsFromSecret(secret: SecretLike): EtcdCredentials {
  const name = `${secret.metadata?.namespace ? `${secret.metadata.namespace}/` : ''}${secret.metadata?.name ?? '(unnamed)'}`;
  const source = `Secret ${name}`;
  const entries = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    if (typeof value !== 'string') continue;
    entries.set(key, Buffer.from(value, 'base64'));
  }
  return credentialsFromEntries(entries, source, secret.type);
}

const KNOWN_KEYS = [TLS_CERT_KEY, TLS_KEY_KEY, CA_KEY, USERNAME_KEY, PASSWORD_KEY];

/**
 * Credentials from a mounted Secret: one file per key (the Secret's type is not mounted).
 * `secret` (`<namespace>/<name>`) names the mounted Secret in messages, where the Job knows it.
 */
export async function credentialsFromDir(
  dir: string,
  secret?: string,
  /** Where the mounted ca.crt came from when another Secret ("bundle.crt of Secret etcd/x-ca"). */
  caSource?: string,
): Promise<EtcdCredentials> {
  const entries = new Map<string, Buffer>();
  let found = 0;
  for (const key of KNOWN_KEYS) {
    try {
      entries.set(key, await readFile(join(dir, key)));
      found++;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        throw new EtcdError(
          'AUTH_CERT_NOT_FOUND',
          `credentials directory ${dir}: cannot read ${key} (${code ?? 'error'})`,
        );
      }
    }
  }
  if (found === 0) {
    throw new EtcdError(
      'AUTH_CERT_NOT_FOUND',
      `credentials directory ${dir} holds none of ${KNOWN_KEYS.join(', ')} (is the Secret mounted?)`,
    );
  }
  const credentials = credentialsFromEntries(
    entries,
    secret ? `Secret ${secret}` : `credentials directory ${dir}`,
  );
  if (caSource && entries.has(CA_KEY)) {
    Object.defineProperty(credentials, 'caSource', { value: caSource, enumerable: false });
  }
  return credentials;
}
