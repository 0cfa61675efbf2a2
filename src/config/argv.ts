// The command line: `--flag=value`, `--flag value` and bare boolean `--flag`. Only flags of the
// option table and its aliases are accepted; the last of a repeated flag wins.
import { ConfigError, cut, shown } from './driver-config.ts';
import { BOOLEAN_FLAGS, KNOWN_FLAGS } from './flag-table.ts';

export function parseArgv(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--'))
      throw new ConfigError(`unexpected argument ${shown(arg)}: flags look like --name=value`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!KNOWN_FLAGS.has(name)) throw new ConfigError(`unknown flag --${cut(name)}`);
    if (eq > 0) {
      flags.set(name, arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (BOOLEAN_FLAGS.has(name) && (next === undefined || next.startsWith('--'))) {
      flags.set(name, 'true');
    } else if (next === undefined) {
      throw new ConfigError(`flag --${name} needs a value`);
    } else {
      flags.set(name, next);
      i++;
    }
  }
  return flags;
}
