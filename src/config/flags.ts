// The command-line layer, parsed with node:util parseArgs from the settings table.
import { parseArgs } from 'node:util';
import { coerce } from './coerce.ts';
import type { ConfigProblem } from './errors.ts';
import { setPath, type Layer, type Tree } from './layer.ts';
import { configFileFlag, settings } from './settings.ts';

export interface CommandLine {
  readonly help: boolean;
  readonly configFile?: string;
  readonly layer: Layer;
  readonly problems: ConfigProblem[];
}

const HELP_HINT = 'run with --help to list the options';

const options = Object.fromEntries([
  ['help', { type: 'boolean', short: 'h' }],
  [configFileFlag, { type: 'string' }],
  ...settings.filter((s) => s.flag).map((s) => [s.flag!, { type: 'string', multiple: s.kind === 'list' || s.kind === 'volumes' }]),
]) as Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export function parseCommandLine(argv: readonly string[], cwd: string): CommandLine {
  const empty: Layer = { source: 'command line', values: {} };
  let parsed: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    return { help: false, layer: empty, problems: [{ path: '', source: 'command line', message: describeParseError(err) }] };
  }
  const values: Tree = {};
  const labels = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  for (const setting of settings) {
    const given = setting.flag ? parsed[setting.flag] : undefined;
    if (given === undefined) continue;
    const flag = `--${setting.flag}`;
    const result = coerce(setting, ([] as unknown[]).concat(given).map(String), cwd);
    if (result.ok) {
      setPath(values, setting.path, result.value);
      labels.set(setting.path, flag);
    } else {
      problems.push({ path: setting.path, source: flag, message: result.message.replace(/e\.g\. /, `e.g. ${flag} `) });
    }
  }
  const configFile = parsed[configFileFlag];
  return {
    help: parsed.help === true,
    ...(typeof configFile === 'string' ? { configFile } : {}),
    layer: { source: 'command line', values, labels },
    problems,
  };
}

function describeParseError(err: unknown): string {
  const { code, message } = err as { code?: string; message: string };
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted}: ${HELP_HINT}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = quoted.split(' ')[0]!;
      const setting = settings.find((s) => `--${s.flag}` === flag);
      if (!/argument missing/.test(message)) return `${flag} takes no value: ${HELP_HINT}`;
      return setting ? `${flag} needs a value, e.g. ${flag} ${setting.example}` : `${flag} needs a value`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted}: options are written --name value; ${HELP_HINT}`;
    default:
      return `${message}; ${HELP_HINT}`;
  }
}
