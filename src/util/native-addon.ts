import { createRequire } from 'node:module';

/** Relative to this module, which sits two levels below the package root in src/ and in dist/ alike. */
const ADDON_PATH = '../../native/build/Release/gangway_tls.node';

/** The addon's exports; throws what loading it threw (not built, built for another Node). */
export function requireNativeAddon(): Record<string, unknown> {
  return createRequire(import.meta.url)(ADDON_PATH) as Record<string, unknown>;
}

/**
 * The part of the native addon (native/) that offers every function in `names`, or undefined: when
 * `switchOff` names an environment variable set to 0, when the addon did not build or load, or when
 * it lacks one of them (an addon built from older sources). Each part falls back to Node on its own.
 */
export function nativeAddonPart<T>(switchOff: string, names: readonly (keyof T & string)[]): T | undefined {
  if (process.env[switchOff] === '0') return undefined;
  try {
    const addon = requireNativeAddon();
    return names.every((n) => typeof addon[n] === 'function') ? (addon as T) : undefined;
  } catch {
    // The TLS engine's loader reports a missing addon once, at start; nothing to add here.
    return undefined;
  }
}
