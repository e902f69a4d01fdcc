/**
 * The start-up warm-up in process: which methods a configuration warms, a warm-up that runs them
 * all against its throwaway server and leaves no directory behind, and the ways it ends short of
 * that (time limit, a directory it cannot make, a stop) with one log line or none, never a throw.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type GangwayConfig } from '../../src/config/config.js';
import { warmUpBeforeStart, warmupMethods } from '../../src/cli/warmup.js';
import { MemoryLog } from '../helpers/silent-log.js';

const clients = { clients: [{ name: 'ap', address: '10.0.0.0/8', secret: 'long-enough-secret' }] };
const NOOB = { 'eap-noob': { oobUrl: 'https://gangway.example/noob' } };

function configOf(doc: Record<string, unknown>): GangwayConfig {
  return parseConfig({ radius: clients, ...doc }, '/data');
}

/** A configuration that enables every method the warm-up has a driver for. */
const everything = (warmup: number): GangwayConfig =>
  configOf({ server: { warmup }, eap: { defaultMethods: ['eap-tls', 'teap'] }, methods: NOOB });

describe('which methods a configuration warms', () => {
  test.each([
    ['the default (EAP-TLS, TLS 1.2 and 1.3)', {}, ['eap-tls', 'eap-tls13']],
    ['EAP-TLS with TLS 1.3 only; TEAP, whose driver runs TLS 1.2, is left cold', { eap: { defaultMethods: ['eap-tls', 'teap'] }, tls: { minVersion: 'TLSv1.3' } }, ['eap-tls13']],
    ['TEAP named by a rule, EAP-NOOB by its section', { eap: { defaultMethods: ['eap-mschapv2'], rules: [{ realm: 'corp', methods: ['teap'] }] }, methods: NOOB }, ['teap-mschapv2', 'noob-completion', 'noob-reconnect']],
    ['bare MSCHAPv2 only: nothing to drive', { eap: { defaultMethods: ['eap-mschapv2'] } }, []],
  ])('%s', (_what, doc, names) => {
    expect(warmupMethods(configOf(doc)).map((m) => m.name)).toEqual(names);
  });

  test('nothing to drive, or server.warmup 0: no warm-up and no log line', async () => {
    const log = new MemoryLog();
    expect(await warmUpBeforeStart(configOf({ eap: { defaultMethods: ['eap-mschapv2'] } }), log)).toBeUndefined();
    expect(await warmUpBeforeStart(everything(0), log)).toBeUndefined();
    expect(log.lines).toEqual([]);
  });
});

describe('the warm-up', () => {
  let parent: string;

  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'gangway-warmup-test-'));
  });

  afterEach(() => {
    rmSync(parent, { recursive: true, force: true });
  });

  test('runs every enabled method against its throwaway server and removes its directory', async () => {
    const log = new MemoryLog();
    const outcome = await warmUpBeforeStart(everything(4), log, { parent });
    expect(outcome).toMatchObject({
      methods: ['eap-tls', 'eap-tls13', 'teap-mschapv2', 'noob-completion', 'noob-reconnect'],
      authentications: 20, failed: 0, setupErrors: [], timedOut: false,
    });
    expect(outcome!.dir.startsWith(join(parent, 'gangway-warmup-'))).toBe(true);
    expect(readdirSync(parent)).toEqual([]);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ level: 'info', msg: 'start-up warm-up done', obj: { perMethod: 4, authentications: 20, failed: 0 } });
    const { wallMs, cpuMs } = log.lines[0]!.obj as { wallMs: number; cpuMs: number };
    expect(wallMs).toBeGreaterThan(0);
    expect(cpuMs).toBeGreaterThan(0);
  });

  test('stops at its time limit with one warning, and still removes its directory', async () => {
    const log = new MemoryLog();
    const outcome = await warmUpBeforeStart(everything(1000), log, { parent, wallMs: 1 });
    expect(outcome?.timedOut).toBe(true);
    expect(outcome!.authentications).toBeLessThan(5000);
    expect(readdirSync(parent)).toEqual([]);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ level: 'warn', msg: 'start-up warm-up stopped at its time limit; starting anyway', obj: { limitMs: 1 } });
  });

  test('a start waits at most the time limit and the grace to close', async () => {
    const log = new MemoryLog();
    const started = performance.now();
    const outcome = await warmUpBeforeStart(everything(1000), log, { parent, wallMs: 3000 });
    // The limit (3 s), then at most the throwaway's 2 s to close, and slack for a loaded machine.
    expect(performance.now() - started).toBeLessThan(3000 + 2000 + 2500);
    expect(outcome?.timedOut).toBe(true);
    expect(readdirSync(parent)).toEqual([]);
  }, 30_000);

  test('a warm-up that cannot run logs one warning with the reason and does not throw', async () => {
    const log = new MemoryLog();
    expect(await warmUpBeforeStart(everything(4), log, { parent: join(parent, 'missing') })).toBeUndefined();
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ level: 'warn', msg: 'start-up warm-up failed; starting without it' });
    expect((log.lines[0]!.obj as { reason: string }).reason).toContain('ENOENT');
  });

  test('a stop ends it without a line, and its directory is removed', async () => {
    const log = new MemoryLog();
    const stop = new AbortController();
    const running = warmUpBeforeStart(everything(1000), log, { parent, signal: stop.signal });
    setTimeout(() => stop.abort(), 1500);
    const outcome = await running;
    expect(outcome === undefined || outcome.timedOut).toBe(true);
    expect(readdirSync(parent)).toEqual([]);
    expect(log.lines).toEqual([]);
  });
});
