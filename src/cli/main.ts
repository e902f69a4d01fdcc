#!/usr/bin/env node
import { processIo, type CliCommand } from './io.js';
import { run as init } from './commands/init.js';
import { run as serve, runStart } from './commands/serve.js';
import { run as users } from './commands/users.js';
import { run as teapPeer } from './commands/teap-peer.js';
import { run as noobOob } from './commands/noob-oob.js';
import { run as noobPeer } from './commands/noob-peer.js';
import { run as bench } from './commands/bench.js';
import { run as masa } from './commands/masa.js';

const COMMANDS: Record<string, { run: CliCommand; help: string }> = {
  init: { run: init, help: 'create a data directory (demo PKI, config, database)' },
  serve: { run: serve, help: 'run the RADIUS server from a data directory' },
  start: { run: runStart, help: 'initialise ./var if needed and serve (what npm start runs)' },
  users: { run: users, help: 'add, remove or list accounts for EAP-MSCHAPv2 and Basic-Password-Auth' },
  'teap-peer': { run: teapPeer, help: 'authenticate to a RADIUS server with our TEAP peer' },
  'noob-oob': { run: noobOob, help: 'deliver a device\'s EAP-NOOB QR code (URL), or issue/list server-to-device codes' },
  'noob-peer': { run: noobPeer, help: 'run our EAP-NOOB device (peer) against a RADIUS server' },
  pledge: { run: async (argv, io) => (await import('./commands/pledge.js')).run(argv, io), help: 'enrol a device with TEAP-BRSKI (IDevID in, voucher, LDevID out) against a RADIUS server' },
  brski: { run: async (argv, io) => (await import('./commands/brski.js')).run(argv, io), help: 'TEAP-BRSKI registrar: approve or deny pledges, list or revoke issued LDevIDs' },
  bench: { run: bench, help: 'measure authentications/s, CPU and memory against raw crypto and hostapd' },
  masa: { run: masa, help: 'reference MASA (BRSKI voucher service) and IDevID issuer for TEAP-BRSKI tests' },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name !== undefined ? COMMANDS[name] : undefined;
  if (!command) {
    const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(12)} ${c.help}`);
    processIo.stderr(`usage: gangway COMMAND [options]\n\n${lines.join('\n')}\n`);
    return name === undefined || name === '--help' || name === 'help' ? 0 : 2;
  }
  return command.run(rest, processIo);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    processIo.stderr(`gangway: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
