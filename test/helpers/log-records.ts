// A pino logger that keeps every record it is given, for tests that assert what
// an operator would read in the gateway's log.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type LogRecord = { level: number; msg: string; [key: string]: unknown };

export function capturingLogger(records: LogRecord[], level = 'debug'): Logger {
  return pino(
    { level },
    new Writable({ write: (chunk, _encoding, done) => (records.push(JSON.parse(String(chunk)) as LogRecord), done()) }),
  );
}
