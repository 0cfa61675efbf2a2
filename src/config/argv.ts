// The command line: `--flag=value`, `--flag value` and bare boolean `--flag`. Only flags of the
// option table and its aliases are accepted; the last of a repeated flag wins, except that a
// list flag (REPEATABLE_FLAGS) adds each repeat to its list.
import { ConfigError, cut, shown } from './driver-config.ts';
import { BOOLEAN_FLAGS, KNOWN_FLAGS, REPEATABLE_FLAGS } from './flag-table.ts';

export function parseArgv(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  const set = (name: string, value: string) => {
    const before = flags.get(name);
    flags.set(name, REPEATABLE_FLAGS.has(name) && before !== undefined ? `${before},${value}` : value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--'))
      throw new ConfigError(`unexpected argument ${shown(arg)}: flags look like --name=value`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!KNOWN_FLAGS.has(name)) throw new ConfigError(`unknown flag --${cut(name)}`);
    if (eq > 0) {
      set(name, arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (BOOLEAN_FLAGS.has(name) && (next === undefined || next.startsWith('--'))) {
      flags.set(name, 'true');
    } else if (next === undefined) {
      throw new ConfigError(`flag --${name} needs a value`);
    } else {
      set(name, next);
      i++;
    }
  }
  return flags;
}
