// A refused object store setting: the key is always named; the value only when it is given, which
// callers do for keys that are not secret. Values are quoted bounded, so a pasted certificate or
// a wrong file cannot flood a status or a log line.
const VALUE_LIMIT = 100;

export function quoteValue(value: string): string {
  const shown = value.length > VALUE_LIMIT ? `${value.slice(0, VALUE_LIMIT)}…` : value;
  return JSON.stringify(shown);
}

export class StoreConfigError extends Error {
  override name = 'StoreConfigError';
  readonly key: string;
  constructor(key: string, problem: string, value?: string) {
    super(`object store key "${key}"${value === undefined ? '' : ` = ${quoteValue(value)}`} ${problem}`);
    this.key = key;
  }
}
