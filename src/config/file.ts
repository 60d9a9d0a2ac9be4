// The config-file layer: one JSON object shaped like the configuration.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { isTree, type Layer } from './layer.ts';
import { settings } from './settings.ts';

/** Reads `path` (relative to `cwd`); a relative path in it (dataDir, api.tls.*) is relative to the file. */
export function configFileLayer(path: string, cwd: string, named: string): Layer {
  const file = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError([{ path: '', source: named, message: `cannot read config file ${file}: ${reason}; check the path` }]);
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([{ path: '', source: file, message: `is not valid JSON (${(err as Error).message}); fix the file` }]);
  }
  if (!isTree(values)) {
    throw new ConfigError([{ path: '', source: file, message: 'must hold one JSON object, e.g. {"iscsi": {"port": 3260}}' }]);
  }
  for (const { path } of settings.filter((setting) => setting.kind === 'path')) resolveIn(values, path.split('.'), dirname(file));
  return { source: file, values: values };
}

/** Makes the relative path at `keys` in `tree` absolute, from `directory`. */
function resolveIn(tree: Record<string, unknown>, keys: readonly string[], directory: string): void {
  const [key, ...rest] = keys;
  const value = tree[key!];
  if (rest.length > 0) {
    if (isTree(value)) resolveIn(value, rest, directory);
  } else if (typeof value === 'string' && value !== '' && !isAbsolute(value)) {
    tree[key!] = resolve(directory, value);
  }
}
