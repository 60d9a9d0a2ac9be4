// Loading a configuration as the gateway does, from a fixed working directory:
// the configuration, or the first problem it is refused for.
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, type ConfigProblem, type GatewayConfig } from '../../src/config/index.ts';

export const cwd = '/srv/gw';

export function load(argv: string[] = [], env: Record<string, string> = {}): GatewayConfig {
  const result = loadConfig({ argv, env, cwd });
  assert.ok(!result.help);
  return result.config;
}

export function problem(argv: string[], env: Record<string, string> = {}): ConfigProblem {
  try {
    loadConfig({ argv, env, cwd });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems[0]!;
  }
  assert.fail('configuration was accepted');
}
