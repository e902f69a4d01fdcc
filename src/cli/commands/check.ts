import { checkDataDir } from '../../check/check-data-dir.js';
import type { CheckResult } from '../../check/result.js';
import { escapeForTerminal } from '../../util/escape-text.js';
import type { CliIo } from '../io.js';
import { defineCommand, runCommand } from '../command.js';
import { DATA_OPTION, dataDirOf, requireDataDir } from '../data-dir.js';

export const spec = defineCommand({
  name: 'check',
  summary: 'check a data directory without starting the server (like radiusd -C)',
  synopsis: ['check [--data DIR] [--json]'],
  description:
    'Checks the configuration, the certificates (validity, key match, chain, serverAuth), the CA\n' +
    'certificates and CRLs (signature, next update), the method settings, the database (schema,\n' +
    'integrity, writable) and the permissions of files holding secrets. One line per check:\n' +
    'ok, WARN (works, but look) or FAIL (the server would not start, or would refuse devices).',
  options: {
    data: DATA_OPTION,
    json: { type: 'boolean', help: 'the results as a JSON array' },
  },
  epilog: 'Exit status: 0 no FAIL (warnings allowed), 2 usage, 78 something FAILed or no data directory.',
});

const LABEL: Record<CheckResult['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

export async function run(argv: string[], io: CliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ values }) => {
    const dir = requireDataDir(dataDirOf(values.data));
    const results = await checkDataDir(dir.path);
    if (values.json) {
      io.stdout(`${JSON.stringify(results, null, 2)}\n`);
    } else {
      const width = Math.max(...results.map((r) => r.subject.length));
      for (const r of results) io.stdout(`${LABEL[r.status]}  ${r.subject.padEnd(width)}  ${escapeForTerminal(r.detail)}\n`);
      const failed = results.filter((r) => r.status === 'fail').length;
      const warned = results.filter((r) => r.status === 'warn').length;
      io.stdout(failed > 0 ? `${failed} check(s) failed, ${warned} warning(s)\n` : `all ${results.length} checks passed${warned > 0 ? ` (${warned} warning(s))` : ''}\n`);
    }
    return results.some((r) => r.status === 'fail') ? 78 : 0;
  });
}
