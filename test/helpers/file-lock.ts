import { nativeAddonPart } from '../../src/util/native-addon.js';
import { inCi, noteSkip } from './require-tool.js';

/**
 * True when the addon's flock (native/file-lock.c) is there; throws under CI when it is not (the
 * addon is built by npm install there), else prints a banner: a skipped test is never silent.
 */
export function nativeFileLockLoaded(): boolean {
  if (nativeAddonPart<{ tryLockFile(fd: number): boolean }>('GANGWAY_NATIVE_FILE_LOCK', ['tryLockFile'])) return true;
  const why = process.env.GANGWAY_NATIVE_FILE_LOCK === '0' ? 'GANGWAY_NATIVE_FILE_LOCK=0 is set' : 'the addon did not load; build it with npm install';
  if (inCi()) throw new Error(`the native file lock is not there (${why}); CI=true, so its tests fail instead of skipping`);
  const bar = '!'.repeat(72);
  console.warn(`\n${bar}\n!! SKIPPING the LDevID directory lock's tests: ${why}.\n${bar}\n`);
  noteSkip('native file lock', why);
  return false;
}
