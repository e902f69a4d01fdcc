/**
 * The crash policy of `gangway serve` (src/cli/crash-policy.ts) in a child process: whatever escapes
 * is logged and the process exits 70, with the exit watchdog armed first; a watchdog that cannot be
 * armed (thread creation failing, say) is logged and does not stop the exit.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../helpers/proc.js';

const policyModule = pathToFileURL(join(projectRoot(), 'dist', 'cli', 'crash-policy.js')).href;
const logModule = pathToFileURL(join(projectRoot(), 'dist', 'util', 'log.js')).href;

function crash(watchdog: string, fault: string): { status: number | null; lines: { msg?: string; err?: unknown }[]; stillServing: boolean } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { installCrashPolicy } from '${policyModule}';
    import { createLog } from '${logModule}';
    installCrashPolicy(createLog('info', process.stdout), undefined, ${watchdog});
    ${fault}
    setTimeout(() => { console.log('{"msg":"still serving"}'); process.exit(0); }, 3000);
  `], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '' } });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; err?: unknown });
  return { status: r.status, lines, stillServing: lines.some((l) => l.msg === 'still serving') };
}

const THROWING = `() => { throw new Error('pthread_create: Resource temporarily unavailable'); }`;

describe('crash policy', () => {
  test('an uncaught exception: logged, the watchdog armed (5 s, status 70), exit 70', () => {
    const r = crash(`(ms, code) => { console.log(JSON.stringify({ msg: 'armed', ms, code })); return 'armed'; }`, `setImmediate(() => { throw new Error('boom'); });`);
    expect(r.status).toBe(70);
    expect(r.lines.map((l) => l.msg)).toEqual(['uncaught exception: exiting so that the service manager starts a clean process', 'armed']);
    expect(r.lines[1]).toMatchObject({ ms: 5000, code: 70 });
  });

  // FAILS at fb1de51: the watchdog's throw escaped the policy (exit 7 for an exception; for a
  // rejection the process went on serving after its fatal line).
  test.each([
    ['an uncaught exception', `setImmediate(() => { throw new Error('boom'); });`],
    ['an unhandled rejection', `void Promise.reject(new Error('boom'));`],
  ])('%s with a watchdog that cannot be armed: still exit 70, and the watchdog\'s trouble logged', (_what, fault) => {
    const r = crash(THROWING, fault);
    expect(r.status).toBe(70);
    expect(r.stillServing).toBe(false);
    expect(r.lines.some((l) => l.msg === 'the exit watchdog could not be armed' && JSON.stringify(l.err).includes('pthread_create'))).toBe(true);
  });

  test('no watchdog available: a warning naming both causes, and exit 70', () => {
    const r = crash(`() => 'unavailable'`, `setImmediate(() => { throw new Error('boom'); });`);
    expect(r.status).toBe(70);
    expect(r.lines.some((l) => /^no exit watchdog \(native addon not loaded, or GANGWAY_NATIVE_WATCHDOG=0\)/.test(l.msg ?? ''))).toBe(true);
  });
});
