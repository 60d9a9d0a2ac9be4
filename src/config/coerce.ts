// Turns the strings of environment variables and flags into typed values. Only
// the form is checked here (a number is a number); ranges are the schema's job.
import { isAbsolute, resolve } from 'node:path';
import type { Setting } from './settings.ts';

export type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function items(raw: readonly string[]): string[] {
  return raw
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `raw` holds one string, or several for a repeated flag. */
export function coerce(setting: Setting, raw: readonly string[], cwd: string): Coerced {
  const last = raw[raw.length - 1]!;
  switch (setting.kind) {
    case 'string':
      return { ok: true, value: last };
    case 'path':
      return { ok: true, value: isAbsolute(last) ? last : resolve(cwd, last) };
    case 'integer':
      return /^\d+$/.test(last.trim())
        ? { ok: true, value: Number(last) }
        : { ok: false, message: `"${last}" is not a whole number, e.g. ${setting.example}` };
    case 'boolean': {
      const word = last.trim().toLowerCase();
      if (TRUE.has(word)) return { ok: true, value: true };
      if (FALSE.has(word)) return { ok: true, value: false };
      return { ok: false, message: `"${last}" is not true or false` };
    }
    case 'list':
      return { ok: true, value: items(raw) };
    case 'volumes': {
      const volumes = [];
      for (const item of items(raw)) {
        const match = /^([^=]+)=([^:]+)(?::(.+))?$/.exec(item);
        if (!match)
          return { ok: false, message: `"${item}" is not name=size, e.g. ${setting.example} (or name=size:cached for a cached volume)` };
        volumes.push({ name: match[1]!.trim(), size: match[2]!.trim(), ...(match[3] === undefined ? {} : { type: match[3].trim() }) });
      }
      return { ok: true, value: volumes };
    }
  }
}
