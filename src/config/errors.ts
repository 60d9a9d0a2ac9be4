/** One thing wrong with the configuration, and where it came from. */
export interface ConfigProblem {
  /** Dotted setting path, e.g. "iscsi.port"; empty for the whole configuration. */
  readonly path: string;
  /** Where the bad value was given: "--iscsi-port", "GATEWAY_ISCSI_PORT", "/etc/gw.json"… */
  readonly source: string;
  /** What is wrong and what to type instead. */
  readonly message: string;
}

/** The configuration cannot be used; the message lists every problem found. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p.path ? `${p.path} ` : ''}(${p.source}): ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
