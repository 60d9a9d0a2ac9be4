// The config-file layer: one JSON object shaped like the configuration.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { isTree, type Layer } from './layer.ts';

/** Reads `path` (relative to `cwd`); a relative dataDir in it is relative to the file. */
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
  if (typeof values.dataDir === 'string' && values.dataDir !== '' && !isAbsolute(values.dataDir)) {
    values = { ...values, dataDir: resolve(dirname(file), values.dataDir) };
  }
  return { source: file, values: values as Layer['values'] };
}
