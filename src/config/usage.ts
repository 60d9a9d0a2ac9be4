// The --help text, from the settings table.
import { configFileEnv, configFileFlag, settings } from './settings.ts';

export function usage(): string {
  const rows: [string, string, string][] = [
    [`--${configFileFlag} FILE`, configFileEnv, 'JSON config file (same keys as the configuration; see README)'],
    ...settings.map((s): [string, string, string] => [
      s.flag ? `--${s.flag} ${s.example}` : '(environment or file only)',
      s.env,
      s.description,
    ]),
    ['--help, -h', '', 'print this text'],
  ];
  const width = Math.max(...rows.map(([flag]) => flag.length));
  const envWidth = Math.max(...rows.map(([, env]) => env.length));
  return [
    'Usage: npm start -- [options]      (or: node --import tsx src/main.ts [options])',
    '',
    'Precedence, lowest first: built-in defaults, config file, environment, flags.',
    '',
    ...rows.map(([flag, env, text]) => `  ${flag.padEnd(width)}  ${env.padEnd(envWidth)}  ${text}`),
    '',
  ].join('\n');
}
