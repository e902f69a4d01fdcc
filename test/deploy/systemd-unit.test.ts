/**
 * deploy/systemd/gangway.service: systemd accepts it, it runs as a non-root user with its own
 * state directory and the hardening the deployment page promises, and its commands are commands
 * this Gangway has.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { projectRoot } from '../helpers/proc.js';
import { requireTool } from '../helpers/require-tool.js';

const unitPath = join(projectRoot(), 'deploy', 'systemd', 'gangway.service');
const unit = readFileSync(unitPath, 'utf8');
const systemdAnalyze = requireTool('systemd-analyze');

function directives(name: string): string[] {
  return unit.split('\n').filter((l) => l.startsWith(`${name}=`)).map((l) => l.slice(name.length + 1));
}

(systemdAnalyze ? test : test.skip)('systemd-analyze verify accepts the unit', () => {
  const r = spawnSync(systemdAnalyze!, ['verify', unitPath], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  // Other units on the machine may draw warnings; ours must not.
  expect(r.stderr.split('\n').filter((l) => l.includes('gangway.service'))).toEqual([]);
});

test('non-root user, state directory, restart on failure but not on a configuration error, hardening', () => {
  expect(directives('User')).toEqual(['gangway']);
  expect(directives('StateDirectory')).toEqual(['gangway']);
  expect(directives('Environment')).toContain('GANGWAY_DATA=/var/lib/gangway');
  expect(directives('Restart')).toEqual(['on-failure']);
  expect(directives('RestartPreventExitStatus')).toEqual(['78']);
  expect(directives('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
  for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['CapabilityBoundingSet', ''], ['UMask', '0077']]) {
    expect(directives(key!)).toEqual([value]);
  }
});

test('ExecStartPre and ExecStart run commands this Gangway has, on the data directory of GANGWAY_DATA', () => {
  const names = new Set(COMMANDS.map((c) => c.spec.name));
  const commands = [...directives('ExecStartPre'), ...directives('ExecStart')].map((line) => {
    const m = /^\/usr\/bin\/node \/opt\/gangway\/dist\/cli\/main\.js (\S+)$/.exec(line);
    if (!m) throw new Error(`unexpected command line: ${line}`);
    return m[1]!;
  });
  expect(commands).toEqual(['check', 'serve']);
  for (const c of commands) expect(names.has(c)).toBe(true);
});
