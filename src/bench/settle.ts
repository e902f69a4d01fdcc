/**
 * When a server has warmed up: its CPU per authentication, measured over successive windows of
 * authentications, stops moving. A fresh Node.js process first pays for compiling the RADIUS/EAP
 * path, growing its heap and filling caches, so its early windows cost more; a C server settles
 * after its first few. "Settled" means the last `windows` windows each lie within `tolerance` of
 * their mean, which a steadily falling series never satisfies.
 */

export interface SettleRule {
  /** Windows compared (at least 2). */
  windows: number;
  /** Largest allowed relative distance of one window from the mean of the compared ones. */
  tolerance: number;
}

export const DEFAULT_SETTLE_RULE: SettleRule = { windows: 3, tolerance: 0.1 };

/** Whether the series (CPU ms per authentication, one value per window, oldest first) has settled. */
export function hasSettled(series: readonly number[], rule: SettleRule = DEFAULT_SETTLE_RULE): boolean {
  const k = Math.max(2, rule.windows);
  if (series.length < k) return false;
  const last = series.slice(-k);
  if (last.some((x) => !Number.isFinite(x) || x <= 0)) return false;
  const mean = last.reduce((s, x) => s + x, 0) / k;
  return last.every((x) => Math.abs(x - mean) <= rule.tolerance * mean);
}

/**
 * /proc counts CPU time in ticks (10 ms on Linux): a window whose CPU time is a handful of ticks
 * has a rounding error larger than any tolerance. Windows grow until they span at least this many.
 */
export const MIN_TICKS_PER_WINDOW = 50;

/** The next window's size: doubled (up to `max`) while the last one spanned too few ticks. */
export function nextWindowSize(current: number, ticksSeen: number, max: number): number {
  return ticksSeen < MIN_TICKS_PER_WINDOW ? Math.min(max, current * 2) : current;
}
