// Structured logs: one JSON record per line on stderr.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    { name: options.name ?? 'gateway', level: options.level ?? process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that drops everything, for unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
