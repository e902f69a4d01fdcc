import type { CliCommandEntry } from '../command.js';
import * as init from './init.js';
import * as serve from './serve.js';
import * as check from './check.js';
import * as start from './start.js';
import * as users from './users.js';
import * as teapPeer from './teap-peer.js';
import * as noobOob from './noob-oob.js';
import * as noobPeer from './noob-peer.js';
import * as pledge from './pledge.js';
import * as bench from './bench.js';
import * as brski from './brski.js';
import * as masa from './masa.js';

/** Every command, in the order `gangway --help` lists them. */
export const COMMANDS: readonly CliCommandEntry[] = [init, start, serve, check, users, noobOob, teapPeer, noobPeer, pledge, brski, masa, bench].map((m) => ({
  spec: m.spec,
  run: (argv, io) => m.run(argv, io),
}));
