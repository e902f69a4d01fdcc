import { logCaptureHook } from '../util/log-capture.js';

/** How a CLI command talks to the terminal; tests pass collectors instead of the real streams. */
export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  /** True when stdout is a terminal (colour, QR codes); absent means no. */
  readonly stdoutIsTerminal?: boolean;
}

export type CliCommand = (argv: string[], io: CliIo) => Promise<number>;

/**
 * Under GANGWAY_LOG_CAPTURE, what a command says on stderr (the journal of `gangway serve`: why it
 * cannot start, …) is copied as one JSON line for the log scan. stdout is not: it is the command's
 * product — `serve` writes its pino lines there (captured at the logger), others print keys or
 * secrets on request.
 */
const captureStderr = logCaptureHook();

export const processIo: CliIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => {
    captureStderr?.(`${JSON.stringify({ time: Date.now(), stream: 'stderr', msg: s })}\n`);
    process.stderr.write(s);
  },
  stdoutIsTerminal: process.stdout.isTTY === true,
};
