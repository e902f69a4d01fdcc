/**
 * What the start-up warm-up leaves in the process that goes on to serve: no descriptor (socket,
 * SQLite file) and no handle or timer of its throwaway server or peers.
 */
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { warmUpBeforeStart } from '../../src/cli/warmup.js';
import { MemoryLog } from '../helpers/silent-log.js';

const config = parseConfig({
  radius: { clients: [{ name: 'ap', address: '10.0.0.0/8', secret: 'long-enough-secret' }] },
  server: { warmup: 3 },
  eap: { defaultMethods: ['eap-tls', 'teap'] },
  methods: { 'eap-noob': { oobUrl: 'https://gangway.example/noob' } },
}, '/data');

/** This process's open descriptors, by what they point at. */
function descriptors(): string[] {
  return readdirSync('/proc/self/fd').map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return 'gone';
    }
  }).filter((t) => t !== 'gone').sort();
}

/** What Node keeps of a timer: whether it is still to fire. */
interface TimerResource { _idleTimeout: number; _destroyed: boolean }

/**
 * Timers made by `run` (in its asynchronous context, however deep) that are still to fire
 * afterwards, with where each was made; unref'd ones count too (every periodic timer of the
 * server is unref'd, and one left running keeps the throwaway server alive). Not
 * process.getActiveResourcesInfo(): the whole suite runs in one process, and one CI run saw a
 * third 'Timeout' appear there that was not the warm-up's (none of any number of warm-ups here
 * left one); timers of other tests' leftovers are not `run`'s.
 */
async function timersLeftBy(run: () => Promise<void>, settleMs: number): Promise<string[]> {
  const made = new Map<number, { timer: TimerResource; stack: string }>();
  const context = new AsyncLocalStorage<'run'>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type === 'Timeout' && context.getStore() === 'run') {
        made.set(id, { timer: resource as TimerResource, stack: new Error('made here').stack ?? '' });
      }
    },
    destroy(id) { made.delete(id); },
  });
  hook.enable();
  try {
    await context.run('run', run);
    // Sockets end their close a turn or two after the warm-up returns; what that makes counts too.
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    hook.disable();
  }
  return [...made.values()]
    .filter(({ timer }) => timer._idleTimeout !== -1 && !timer._destroyed)
    .map(({ timer, stack }) => `a ${timer._idleTimeout} ms timer ${stack}`);
}

describe('what the warm-up leaves behind', () => {
  let parent: string;
  beforeAll(() => { parent = mkdtempSync(join(tmpdir(), 'gangway-warmup-leak-')); });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  test('no descriptor and no active handle of its own once it returns', async () => {
    // One warm-up first, so that what is made once per process (the addon, the scrypt dummy) is made.
    await warmUpBeforeStart(config, new MemoryLog(), { parent });
    // Sockets end their close a turn or two after the warm-up returns.
    await new Promise((r) => setTimeout(r, 200));
    const fds = descriptors();
    const handles = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort();
    let outcome: unknown;
    const timers = await timersLeftBy(async () => { outcome = await warmUpBeforeStart(config, new MemoryLog(), { parent }); }, 200);
    expect(outcome).toMatchObject({ failed: 0, timedOut: false });
    expect(descriptors()).toEqual(fds);
    expect(process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort()).toEqual(handles);
    expect(timers).toEqual([]);
  }, 60_000);

  test('the timer check sees timers the run left, however late and whether unref\'d, and not one made outside it', async () => {
    const left: NodeJS.Timeout[] = [];
    // Armed before the run, it fires during it and arms another: that one is not the run's.
    const outside = setTimeout(() => left.push(setTimeout(() => undefined, 40_000)), 2);
    const timers = await timersLeftBy(async () => {
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 5));
      left.push(setTimeout(() => undefined, 20_000));
      setTimeout(() => left.push(setTimeout(() => undefined, 30_000)), 1);
      left.push(setInterval(() => undefined, 50_000).unref());
    }, 50);
    left.push(outside);
    for (const t of left) clearTimeout(t);
    expect(left).toHaveLength(5);
    expect(timers.map((t) => t.split(' timer')[0]).sort()).toEqual(['a 20000 ms', 'a 30000 ms', 'a 50000 ms']);
  });
});
