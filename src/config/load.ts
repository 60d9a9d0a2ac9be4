// Builds the configuration from its layers, in increasing precedence: built-in
// defaults, the JSON config file (--config or GATEWAY_CONFIG), GATEWAY_*
// environment variables, command-line flags. Every problem found is reported
// at once, each with the flag, variable or file that caused it.
import { builtInDefaults } from './defaults.ts';
import { environmentLayer } from './env.ts';
import { ConfigError, type ConfigProblem } from './errors.ts';
import { configFileLayer } from './file.ts';
import { parseCommandLine } from './flags.ts';
import { isTree, merge, sourceOf, type Layer } from './layer.ts';
import { configSchema, type GatewayConfig } from './schema.ts';
import { configFileEnv, configFileFlag, settings } from './settings.ts';

export interface LoadOptions {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export type LoadResult =
  | { readonly help: true }
  | {
      readonly help: false;
      readonly config: GatewayConfig;
      /** Things that did not stop the gateway but may be mistakes. */
      readonly warnings: string[];
      readonly configFile?: string;
    };

/** Throws ConfigError listing every problem. */
export function loadConfig({ argv, env, cwd }: LoadOptions): LoadResult {
  const commandLine = parseCommandLine(argv, cwd);
  if (commandLine.help) return { help: true };
  const environment = environmentLayer(env, cwd);
  const problems: ConfigProblem[] = [...commandLine.problems, ...environment.problems];

  const layers: Layer[] = [{ source: 'built-in defaults', values: builtInDefaults(cwd) }];
  const configFile = commandLine.configFile ?? (env[configFileEnv] || undefined);
  if (configFile !== undefined) {
    try {
      layers.push(configFileLayer(configFile, cwd, commandLine.configFile !== undefined ? `--${configFileFlag}` : configFileEnv));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  layers.push(environment.layer, commandLine.layer);

  const merged = layers.reduce((tree, layer) => merge(tree, layer.values), {});
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const reported = new Set(problems.map((p) => p.path));
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        problems.push(
          ...issue.keys.map((key) => problem(layers, [...issue.path, key], 'is not a setting: check the spelling or remove it')),
        );
      } else if (!reported.has(issue.path.join('.'))) {
        const missing = valueAt(merged, issue.path) === undefined;
        problems.push(problem(layers, issue.path, missing ? `${issue.message}${howToSet(issue.path)}` : issue.message));
      }
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const warnings = environment.unknown.map(
    (name) => `environment variable ${name} is not a setting and was ignored: run with --help to list them`,
  );
  return { help: false, config: parsed.data, warnings, ...(configFile !== undefined ? { configFile } : {}) };
}

function problem(layers: readonly Layer[], path: readonly PropertyKey[], message: string): ConfigProblem {
  return { path: path.map(String).join('.'), source: sourceOf(layers, path), message };
}

function valueAt(tree: unknown, path: readonly PropertyKey[]): unknown {
  let node = tree;
  for (const key of path) node = isTree(node) || Array.isArray(node) ? (node as Record<PropertyKey, unknown>)[key] : undefined;
  return node;
}

function howToSet(path: readonly PropertyKey[]): string {
  const setting = settings.find((s) => s.path === path.join('.'));
  if (!setting) return '';
  return ` (set ${setting.env}${setting.flag ? ` or --${setting.flag}` : ''}, or "${setting.path}" in the config file)`;
}
