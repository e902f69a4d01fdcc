/** How a CLI command talks to the terminal; tests pass collectors instead of the real streams. */
export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  /** True when stdout is a terminal (colour, QR codes); absent means no. */
  readonly stdoutIsTerminal?: boolean;
}

export type CliCommand = (argv: string[], io: CliIo) => Promise<number>;

export const processIo: CliIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  stdoutIsTerminal: process.stdout.isTTY === true,
};
