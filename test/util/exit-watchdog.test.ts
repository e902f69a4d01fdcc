/**
 * The exit watchdog (src/util/exit-watchdog.ts, native/exit-watchdog.c), in child processes: it ends
 * a process that outlives its deadline with the code it was armed with, leaves a normal exit alone,
 * and ends an exit that waits for a worker thread stuck in native code, which without it does not
 * end (the control below). The built modules are used: a child runs plain JavaScript.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../helpers/proc.js';

const watchdogModule = pathToFileURL(join(projectRoot(), 'dist', 'util', 'exit-watchdog.js')).href;

interface ChildRun {
  code: number | null;
  /** Still running when the test gave up on it (and killed it). */
  hung: boolean;
  ms: number;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

function run(script: string, giveUpMs: number, env: Record<string, string> = {}): Promise<ChildRun> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', `import { armExitWatchdog } from '${watchdogModule}';\n${script}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', ...env },
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const giveUp = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, giveUpMs);
    child.on('close', (code) => {
      clearTimeout(giveUp);
      children.delete(child);
      resolve({ code, hung, ms: Date.now() - started, stdout, stderr });
    });
  });
}

/** A worker thread that blocks inside OpenSSL for many minutes, then the main thread exits with 3. */
const STUCK_WORKER_THEN_EXIT = `
import { Worker } from 'node:worker_threads';
const worker = new Worker("require('node:worker_threads').parentPort.postMessage('stuck'); require('node:crypto').pbkdf2Sync('a', 'b', 2_000_000_000, 64, 'sha512');", { eval: true, execArgv: [] });
worker.once('message', () => {
  console.log(armExitWatchdog(1000, 70));
  // The main thread has nothing left to do; what follows is Node's exit, which joins every worker thread.
  setTimeout(() => process.exit(3), 200);
});
`;

describe('exit watchdog', () => {
  test('a process still running at the deadline ends with the armed code and says why on stderr; the earliest deadline wins, whenever it was armed', async () => {
    const r = await run(`
      console.log(armExitWatchdog(60_000, 9), armExitWatchdog(300, 42));
      setTimeout(() => {}, 30_000);
    `, 20_000);
    expect(r.hung).toBe(false);
    expect(r.code).toBe(42);
    expect(r.stdout.trim()).toBe('armed armed');
    expect(r.stderr).toContain('gangway: the process did not finish exiting within 300 ms (a thread is stuck); ending it with status 42');
  }, 30_000);

  test('a process that exits before the deadline keeps its own exit status', async () => {
    const r = await run(`
      armExitWatchdog(5000, 70);
      setTimeout(() => process.exit(0), 50);
    `, 20_000);
    expect([r.code, r.hung, r.stderr]).toEqual([0, false, '']);
  }, 30_000);

  test('at most eight deadlines', async () => {
    const r = await run(`
      console.log(Array.from({ length: 9 }, () => armExitWatchdog(60_000, 1)).join(' '));
      process.exit(0);
    `, 20_000);
    expect(r.stdout.trim()).toBe(`${'armed '.repeat(8)}too-many`);
    expect(r.code).toBe(0);
  }, 30_000);

  // FAILS at fb1de51: the addon was unloaded with the worker while the watchdog thread slept in it (SIGSEGV).
  test('armed in a worker thread that then ends: the deadline still ends the process with its code', async () => {
    const r = await run(`
      import { Worker } from 'node:worker_threads';
      const w = new Worker(${'`'}import('${'${'}process.env.WATCHDOG_MODULE}').then((m) => { m.armExitWatchdog(1500, 71); });${'`'}, { eval: true, execArgv: [], env: process.env });
      w.on('exit', () => setTimeout(() => {}, 30_000));
    `, 20_000, { WATCHDOG_MODULE: watchdogModule });
    expect([r.code, r.hung]).toEqual([71, false]);
  }, 30_000);

  test('arguments out of range are a RangeError, and the watchdog stays unarmed', async () => {
    const r = await run(`
      for (const args of [[100, 256], [100, -1], [-5, 1], [1.5, 1], [100, 2.5], ['100', 1], [2 ** 32, 1]]) {
        try { armExitWatchdog(...args); console.log('no error'); } catch (e) { console.log(e.name); }
      }
      console.log(armExitWatchdog(5000, 1));
      process.exit(0);
    `, 20_000);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([...Array<string>(7).fill('RangeError'), 'armed']);
  }, 30_000);

  test('control: without the watchdog, an exit that waits for a worker thread stuck in native code does not end', async () => {
    const r = await run(STUCK_WORKER_THEN_EXIT, 8000, { GANGWAY_NATIVE_WATCHDOG: '0' });
    expect(r.stdout.trim()).toBe('unavailable');
    expect(r.hung).toBe(true);
  }, 30_000);

  test('with it, that exit ends at the deadline with the armed status', async () => {
    const r = await run(STUCK_WORKER_THEN_EXIT, 20_000);
    expect(r.stdout.trim()).toBe('armed');
    expect([r.code, r.hung]).toEqual([70, false]);
    expect(r.stderr).toContain('within 1000 ms (a thread is stuck); ending it with status 70');
  }, 30_000);
});
