/**
 * A bad environment value: names the variable and what was expected. Thrown at start.
 * Lives in its own file so provider-config.ts can throw it without importing config.ts,
 * which imports provider-config.ts (an import cycle).
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}
