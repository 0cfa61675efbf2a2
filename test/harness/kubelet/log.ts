// The kubelet's own log: JSON lines on stdout (the harness sends them to <rootDir>/kubelet.log).

export type LogFields = Record<string, unknown>;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Log;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLog(
  level: LogLevel = 'info',
  base: LogFields = {},
  out: (line: string) => void = (line) => process.stdout.write(line),
): Log {
  const emit = (at: LogLevel, message: string, fields?: LogFields) => {
    if (ORDER[at] < ORDER[level]) return;
    out(
      `${JSON.stringify({ timestamp: new Date().toISOString(), level: at, message, ...base, ...fields })}\n`,
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLog(level, { ...base, ...fields }, out),
  };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
