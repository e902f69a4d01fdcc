import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The environment variable naming a directory that receives a copy of every log line this process
 * writes, for the test suite's scan of all its logs for secrets (docs/security.md, Logs). Child
 * processes inherit it, so a `gangway serve` started by a test copies its lines there too.
 */
export const LOG_CAPTURE_ENV = 'GANGWAY_LOG_CAPTURE';

/**
 * A pino `streamWrite` hook that appends each serialised line, unchanged, to `<dir>/<pid>.jsonl`
 * (one file per process, so that processes never interleave inside a line), or undefined when the
 * variable is unset, which leaves logging exactly as it is. The line is written synchronously, so a
 * process killed afterwards keeps it. Capture never breaks logging: the first failed write is
 * reported once on stderr and capture stops.
 */
export function logCaptureHook(env: NodeJS.ProcessEnv = process.env): ((line: string) => string) | undefined {
  const dir = env[LOG_CAPTURE_ENV];
  if (!dir) return undefined;
  const file = join(dir, `${process.pid}.jsonl`);
  let broken = false;
  return (line) => {
    if (broken) return line;
    try {
      appendFileSync(file, line);
    } catch (err) {
      broken = true;
      process.stderr.write(`gangway: ${LOG_CAPTURE_ENV}: cannot append to ${file} (${(err as Error).message}); log capture stopped\n`);
    }
    return line;
  };
}
