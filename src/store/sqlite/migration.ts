/** One schema step. Versions are global and strictly increasing; each aggregate owns its steps. */
export interface Migration {
  version: number;
  name: string;
  /** SQL run inside the migration's transaction. */
  up: string;
}
