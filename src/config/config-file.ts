// The --config file: YAML with the keys of the seed's ConfigMap (`snapshot_timeout`,
// `discovery.methods`, `logging.level`, `metrics.port`, …), so that ConfigMap's `config.yaml`
// can be mounted as is. Each key is turned into the text its option parses; a key the driver
// does not know is an error naming it (a typo must not be silently ignored).
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, cut, shown } from './driver-config.ts';
import { ALIASES, OPTIONS } from './flag-table.ts';

/** The seed's discovery label: the cluster's name is the value of this label. */
const SEED_LABEL_SELECTOR = { 'etcd.io/cluster': '' };

/** Keys read here rather than by an option: the value is checked and has no other effect. */
const CHECKED_KEYS: Record<string, (value: unknown, source: string) => void> = {
  // The seed's ConfigMap names the label discovery keys on; the driver's is fixed, so only
  // that one is accepted (anything else would be silently different discovery).
  'discovery.label_selector': (value, source) => {
    if (JSON.stringify(value) !== JSON.stringify(SEED_LABEL_SELECTOR)) {
      throw new ConfigError(
        `${source} must be {"etcd.io/cluster": ""} (pods and StatefulSets are found by the label etcd.io/cluster=<cluster name>), got ${shown(value)}`,
      );
    }
  },
};

const OPTION_KEYS = new Set([...OPTIONS, ...ALIASES].flatMap((o) => (o.file ? [o.file] : [])));
const FILE_KEYS = new Set([...OPTION_KEYS, ...Object.keys(CHECKED_KEYS)]);

export interface ConfigFile {
  path: string;
  /** Option file key → the value as text. */
  values: Map<string, string>;
}

/** Reads `path`; `optional` (the default path): a missing file is no file. */
export function readConfigFile(path: string, optional: boolean): ConfigFile | undefined {
  if (optional && !existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${cut(path)} cannot be read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${cut(path)} is not YAML: ${cut((err as Error).message, 200)}`);
  }
  const values = new Map<string, string>();
  if (doc === null || doc === undefined) return { path, values };
  if (!isMapping(doc)) throw new ConfigError(`config file ${cut(path)} must be a mapping of keys`);
  collect(doc, '', path, values);
  return { path, values };
}

export function fileSource(key: string, path: string): string {
  return `${key} in ${cut(path)}`;
}

function collect(mapping: Record<string, unknown>, prefix: string, path: string, out: Map<string, string>) {
  for (const [name, value] of Object.entries(mapping)) {
    const key = prefix ? `${prefix}.${name}` : name;
    const source = fileSource(key, path);
    if (CHECKED_KEYS[key]) {
      CHECKED_KEYS[key](value, source);
    } else if (OPTION_KEYS.has(key)) {
      const raw = asText(value, source);
      if (raw !== undefined) out.set(key, raw);
    } else if ([...FILE_KEYS].some((k) => k.startsWith(`${key}.`))) {
      if (value === null) continue;
      if (!isMapping(value))
        throw new ConfigError(`${source} must be a mapping of keys, got ${shown(value)}`);
      collect(value, key, path, out);
    } else {
      throw new ConfigError(
        `unknown key ${cut(key)} in ${cut(path)} (known: ${[...FILE_KEYS].sort().join(', ')})`,
      );
    }
  }
}

function asText(value: unknown, source: string): string | undefined {
  if (value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    return value.join(',');
  }
  throw new ConfigError(`${source} must be a value or a list of values, got ${shown(value)}`);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
