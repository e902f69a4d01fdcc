/** A configuration problem, naming the key (dotted path) and why it is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly key: string, readonly why: string) {
    super(`config: ${key}: ${why}`);
  }
}
