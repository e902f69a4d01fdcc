#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { processIo, type CliIo } from './io.js';
import { usage } from './command.js';
import { COMMANDS } from './commands/index.js';

function version(): string {
  // dist/cli/main.js -> the package's own package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 2;
  const lines = COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`);
  return `usage: gangway COMMAND [options]\n       gangway COMMAND --help\n       gangway --version\n\nCommands:\n${lines.join('\n')}\n\n` +
    'Commands that work on a data directory take --data DIR (default $GANGWAY_DATA, else ./var).\n';
}

async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(`gangway: no command given\n\n${overview()}`);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = rest[0] !== undefined ? COMMANDS.find((c) => c.spec.name === rest[0]) : undefined;
    if (rest[0] !== undefined && !topic) {
      io.stderr(`gangway: unknown command "${rest[0]}"\n\n${overview()}`);
      return 2;
    }
    io.stdout(topic ? usage(topic.spec) : overview());
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout(`gangway ${version()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (!command) {
    io.stderr(`gangway: unknown ${name.startsWith('-') ? 'option' : 'command'} "${name}"\n\n${overview()}`);
    return 2;
  }
  return command.run(rest, io);
}

main(process.argv.slice(2), processIo).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    processIo.stderr(`gangway: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
