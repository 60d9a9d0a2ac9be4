// The environment layer: GATEWAY_* variables from the settings table.
import { coerce } from './coerce.ts';
import type { ConfigProblem } from './errors.ts';
import { setPath, type Layer, type Tree } from './layer.ts';
import { configFileEnv, settings } from './settings.ts';

export interface EnvironmentLayer {
  readonly layer: Layer;
  readonly problems: ConfigProblem[];
  /** GATEWAY_* variables that set nothing: usually a typo. */
  readonly unknown: string[];
}

export function environmentLayer(env: Readonly<Record<string, string | undefined>>, cwd: string): EnvironmentLayer {
  const values: Tree = {};
  const labels = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  for (const setting of settings) {
    const raw = env[setting.env];
    if (raw === undefined || raw === '') continue;
    const result = coerce(setting, [raw], cwd);
    if (result.ok) {
      setPath(values, setting.path, result.value);
      labels.set(setting.path, setting.env);
    } else {
      problems.push({ path: setting.path, source: setting.env, message: result.message.replace(/e\.g\. /, `e.g. ${setting.env}=`) });
    }
  }
  const known = new Set([configFileEnv, ...settings.map((s) => s.env)]);
  const unknown = Object.keys(env).filter((name) => name.startsWith('GATEWAY_') && !known.has(name));
  return { layer: { source: 'environment', values, labels }, problems, unknown };
}
