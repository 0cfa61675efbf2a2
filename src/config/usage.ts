// The --help text (and what a bad setting is printed with): every option with its variable,
// config file key and default, then the seed's aliases.
import { ALIASES, OPTIONS, optionOf } from './flag-table.ts';

/** Durations are held in ms (keys ending in Ms) but written in seconds. */
function shownDefault(key: string, value: unknown): string {
  return key.endsWith('Ms') && typeof value === 'number' ? `${value / 1000}s` : String(value);
}

export function usage(): string {
  const rows = OPTIONS.map((o) => {
    const also = [o.env, o.file && `file: ${o.file}`].filter(Boolean).join(', ');
    const def = o.default === undefined ? '' : ` [default: ${shownDefault(o.key, o.default)}]`;
    return `  --${o.flag}${also ? ` (${also})` : ''}\n      ${o.help}${def}`;
  });
  const aliases = ALIASES.map((a) => {
    const names = [a.flag && `--${a.flag}`, a.env, a.file && `file: ${a.file}`].filter(Boolean).join(', ');
    return `  ${names}\n      of --${optionOf(a.key).flag}: ${a.help}`;
  });
  return [
    'Usage: etcd-snapshot-driver [flags]',
    '',
    'Flags win over the config file, which wins over environment variables, which win over defaults.',
    '',
    'Flags:',
    ...rows,
    '',
    'Aliases (the seed manifests’ names):',
    ...aliases,
    '',
  ].join('\n');
}
