// The mounted Secrets of a remote copy: the object store's (one file per key) and the encryption
// key's. A Secret volume also holds the kubelet's `..data` link and timestamped directories: names
// starting with `..` are skipped. Failures name the key or file, never a value; the secret values
// are registered with the logger, which replaces them in any later line.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseStoreConfig, SECRET_KEYS, type StoreConfig, StoreConfigError } from '../objectstore/config.ts';
import { EncryptionError, parseKey } from '../objectstore/encryption.ts';
import { registerSecret } from '../telemetry/logger.ts';
import { AGENT_EXIT_CODES } from './contract.ts';
import { AgentFailure } from './failure.ts';

const MAX_VALUE_BYTES = 1024 * 1024;

const configFailure = (message: string) =>
  new AgentFailure(AGENT_EXIT_CODES.USAGE, 'OBJECT_STORE_CONFIG_INVALID', message);

export async function readStoreConfig(dir: string): Promise<StoreConfig> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    throw configFailure(`the object store Secret is not mounted at ${dir} (${err.code ?? err.message})`);
  });
  const data: Record<string, string> = {};
  for (const e of entries) {
    if (e.name.startsWith('..') || e.isDirectory()) continue;
    const text = await readFile(join(dir, e.name), 'utf8');
    if (Buffer.byteLength(text) > MAX_VALUE_BYTES) {
      throw configFailure(`object store key "${e.name.slice(0, 64)}" is larger than 1 MiB`);
    }
    data[e.name] = text;
  }
  // Before parsing: a refusal's message quotes no secret, but a line logged later must not either.
  for (const key of SECRET_KEYS) {
    const v = data[key]?.trim();
    if (v) registerSecret(v);
  }
  try {
    return parseStoreConfig(data);
  } catch (err) {
    if (err instanceof StoreConfigError) throw configFailure(err.message);
    throw err;
  }
}

export async function readEncryptionKey(file: string): Promise<Buffer> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new AgentFailure(
      AGENT_EXIT_CODES.USAGE,
      'OBJECT_STORE_KEY_INVALID',
      `the encryption key file ${file} cannot be read (${err.code ?? err.message})`,
    );
  });
  if (text.trim()) registerSecret(text.trim());
  try {
    return parseKey(text);
  } catch (err) {
    if (err instanceof EncryptionError) {
      throw new AgentFailure(AGENT_EXIT_CODES.USAGE, 'OBJECT_STORE_KEY_INVALID', `${file}: ${err.message}`);
    }
    throw err;
  }
}
