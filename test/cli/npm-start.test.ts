/**
 * `npm start` is what the README tells a new user to run, and what they stop with Ctrl-C or a
 * SIGTERM to npm. The server must be the process npm waits on, so that the signal reaches it and
 * the port is free again at once (a shell between them would leave the server orphaned).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot, freeUdpPort, sleep } from '../helpers/proc.js';
import { requireTool } from '../helpers/require-tool.js';

const npm = requireTool('npm');
const root = projectRoot();
const main = join(root, 'dist', 'cli', 'main.js');

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

(npm ? describe : describe.skip)('npm start', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-npm-start-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('SIGTERM to npm stops the server; the port is free within 2 s', async () => {
    const port = await freeUdpPort();
    const data = join(dir, 'var');
    expect(spawnSync(process.execPath, [main, 'init', data, '--radius-port', String(port), '--accounting-port', '0', '--portal-port', '0'], { encoding: 'utf8' }).status).toBe(0);
    const child = spawn(npm!, ['start', '--silent', '--', '--data', data], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 900 && !out.includes('gangway listening'); i++) await sleep(100);
      expect(out).toContain('gangway listening');
      expect(await canBind(port)).toBe(false);

      const signalled = Date.now();
      child.kill('SIGTERM');
      let free = false;
      while (!free && Date.now() - signalled < 2000) {
        free = await canBind(port);
        if (!free) await sleep(50);
      }
      expect(free).toBe(true);
      expect(await exited).toBe(0);
      expect(out).toContain('"signal":"SIGTERM"');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 180_000);
});
