import { ntPasswordHash } from '../../eap-methods/mschapv2/ms-chap-v2.js';
import { escapeForTerminal } from '../../util/escape-text.js';
import { DATA_OPTION, dataDirOf, openConfiguredStores, requireDataDir } from '../data-dir.js';
import { loadConfig } from '../../config/config.js';
import type { Stores } from '../../store/stores.js';
import { UsageError, defineCommand, runCommand, type OptionValues } from '../command.js';
import { UserExistsError, hashPassword } from '../../store/users.js';
import type { CliIo } from '../io.js';
import { newPortalPassword } from '../portal-admin.js';

export const spec = defineCommand({
  name: 'users',
  summary: 'add, remove or list accounts for EAP-MSCHAPv2 and Basic-Password-Auth (inside TEAP)',
  synopsis: [
    'users add NAME [--data DIR] [--password PW] [--credentials nt,scrypt|none] [--disabled] [--portal-password PW] [--admin]',
    'users remove NAME [--data DIR]',
    'users list [--data DIR] [--json]',
  ],
  description: 'Accounts live in the database that DIR/gangway.yaml names (store); the server sees changes at once.',
  positionals: { min: 1, max: 2 },
  options: {
    data: DATA_OPTION,
    password: { type: 'string', value: 'PW', help: 'add: the password; without it, the first line of standard input is read' },
    credentials: {
      type: 'string',
      value: 'LIST',
      help:
        'add: which forms to store (default nt,scrypt):\n' +
        '  nt      NT hash, needed by EAP-MSCHAPv2; password-equivalent for MSCHAPv2\n' +
        '  scrypt  salted scrypt hash, enough for TEAP Basic-Password-Auth\n' +
        '  none    no network credential (a portal-only account)',
    },
    disabled: { type: 'boolean', help: 'add: create the account disabled' },
    'portal-password': { type: 'string', value: 'PW', help: 'add: a web portal login, separate from the network password' },
    admin: { type: 'boolean', help: 'add: a portal administrator (a portal password is generated and printed\nonce unless --portal-password is given)' },
    json: { type: 'boolean', help: 'list: JSON instead of tab-separated lines' },
  },
  epilog: 'Exit status: 0 done, 1 refused (exists / no such user), 2 usage, 78 no data directory.',
});

/** Optional stdin reader, so that tests can supply a password without a terminal. */
export type UsersCliIo = CliIo & { stdin?: () => Promise<string> };

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

type UsersValues = OptionValues<typeof spec.options>;

/** `gangway users add|remove|list`: accounts for inner password methods (store/users.ts). */
export async function run(argv: string[], io: UsersCliIo): Promise<number> {
  return runCommand(spec, argv, io, async ({ values, positionals }) => {
    const [sub, name] = positionals;
    if (sub !== 'add' && sub !== 'remove' && sub !== 'list') throw new UsageError(`unknown subcommand "${sub}" (add, remove or list)`);
    if (sub !== 'list' && name === undefined) throw new UsageError(`users ${sub} needs a NAME`);
    if (sub === 'list' && name !== undefined) throw new UsageError(`unexpected argument "${name}"`);
    const forms = credentialForms(values.credentials);
    const stores = await openConfiguredStores(loadConfig(requireDataDir(dataDirOf(values.data)).path));
    try {
      if (sub === 'add') return await add(stores, name!, forms, values, io);
      if (sub === 'remove') return await remove(stores, name!, io);
      return await list(stores, values, io);
    } finally {
      await stores.close();
    }
  });
}

/** The credential forms to store; an empty set is a portal-only account. */
function credentialForms(option: string | undefined): Set<'nt' | 'scrypt'> {
  const named = option === undefined ? ['nt', 'scrypt'] : option.split(',').map((s) => s.trim()).filter(Boolean);
  if (named.length === 1 && named[0] === 'none') return new Set();
  const forms = new Set<'nt' | 'scrypt'>();
  for (const f of named) {
    if (f !== 'nt' && f !== 'scrypt') throw new UsageError(`unknown credential form "${f}"`);
    forms.add(f);
  }
  if (forms.size === 0) throw new UsageError('--credentials needs nt and/or scrypt (or none)');
  return forms;
}

async function add(stores: Stores, name: string, forms: Set<'nt' | 'scrypt'>, values: UsersValues, io: UsersCliIo): Promise<number> {
  const users = stores.users;
  let password = values.password;
  if (forms.size > 0) {
    if (password === undefined) password = (await (io.stdin ?? readStdin)()).split(/\r?\n/)[0] ?? '';
    if (password.length === 0) throw new UsageError('empty password');
  }
  try {
    await users.add({
      name,
      ...(forms.has('nt') ? { ntHash: ntPasswordHash(password!) } : {}),
      ...(forms.has('scrypt') ? { passwordHash: await hashPassword(password!) } : {}),
      enabled: !values.disabled,
    });
  } catch (err) {
    if (err instanceof UserExistsError) {
      io.stderr(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  io.stdout(`added ${name} (${[...forms].join(', ') || 'no network credentials'})\n`);
  if (values.admin || values['portal-password'] !== undefined) {
    const portalPassword = values['portal-password'] ?? newPortalPassword();
    await stores.portalAccounts.setPassword(name, await hashPassword(portalPassword), { admin: values.admin });
    io.stdout(`portal login for ${name}${values.admin ? ' (administrator)' : ''}${values['portal-password'] === undefined ? `, password ${portalPassword} (shown only now)` : ''}\n`);
  }
  return 0;
}

async function remove(stores: Stores, name: string, io: UsersCliIo): Promise<number> {
  if (!(await stores.users.remove(name))) {
    io.stderr(`no user "${name}"\n`);
    return 1;
  }
  io.stdout(`removed ${name}\n`);
  return 0;
}

async function list(stores: Stores, values: UsersValues, io: UsersCliIo): Promise<number> {
  const rows = (await stores.users.list()).map((u) => ({
    name: u.name,
    enabled: u.enabled,
    credentials: [u.ntHash ? 'nt' : '', u.passwordHash ? 'scrypt' : ''].filter(Boolean),
    created: u.created.toISOString(),
  }));
  if (values.json) io.stdout(JSON.stringify(rows, null, 2) + '\n');
  else for (const r of rows) io.stdout(`${escapeForTerminal(r.name)}\t${r.enabled ? 'enabled' : 'disabled'}\t${r.credentials.join(',')}\t${r.created}\n`);
  return 0;
}
