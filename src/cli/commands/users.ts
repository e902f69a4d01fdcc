import { parseArgs } from 'node:util';
import { ntPasswordHash } from '../../eap-methods/mschapv2/ms-chap-v2.js';
import { openSqlite } from '../../store/sqlite/database.js';
import { databasePathOf } from '../data-dir.js';
import { SqliteUserStore } from '../../store/sqlite/users.js';
import { UserExistsError, hashPassword } from '../../store/users.js';
import type { CliIo } from '../io.js';
import { SqlitePortalAccountStore } from '../../store/sqlite/portal.js';
import { newPortalPassword } from '../portal-admin.js';

const USAGE = `usage: gangway users add NAME [--data DIR] [--password PW] [--credentials nt,scrypt|none] [--disabled]
                         [--portal-password PW] [--admin]
       gangway users remove NAME [--data DIR]
       gangway users list [--data DIR] [--json]

  --data DIR          data directory (its gangway.yaml names the database); default .
  --password PW       the password; without it, the first line of standard input is read
  --credentials LIST  which forms to store (default nt,scrypt):
                        nt      NT hash, needed by EAP-MSCHAPv2; password-equivalent for MSCHAPv2
                        scrypt  salted scrypt hash, enough for TEAP Basic-Password-Auth
                        none    no network credential (a portal-only account)
  --portal-password PW  a web portal login, separate from the network password
  --admin               a portal administrator (a portal password is generated and printed
                        once unless --portal-password is given)
`;

/** Optional stdin reader, so that tests can supply a password without a terminal. */
export type UsersCliIo = CliIo & { stdin?: () => Promise<string> };

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `gangway users add|remove|list`: accounts for inner password methods (store/users.ts). */
export async function run(argv: string[], io: UsersCliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: 'string', default: '.' },
        password: { type: 'string' },
        credentials: { type: 'string', default: 'nt,scrypt' },
        disabled: { type: 'boolean', default: false },
        'portal-password': { type: 'string' },
        admin: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, name, ...extra] = positionals;
  if (!sub || extra.length > 0 || (sub !== 'list' && !name) || (sub === 'list' && name)) {
    io.stderr(USAGE);
    return 2;
  }
  const db = openSqlite(databasePathOf(values.data ?? '.'));
  try {
    const users = new SqliteUserStore(db);
    switch (sub) {
      case 'add': {
        const forms = new Set((values.credentials ?? '').split(',').map((s) => s.trim()).filter(Boolean));
        const portalOnly = forms.size === 1 && forms.has('none');
        if (portalOnly) forms.clear();
        for (const f of forms) {
          if (f !== 'nt' && f !== 'scrypt') {
            io.stderr(`unknown credential form "${f}"\n${USAGE}`);
            return 2;
          }
        }
        if (forms.size === 0 && !portalOnly) {
          io.stderr(`--credentials needs nt and/or scrypt (or none)\n${USAGE}`);
          return 2;
        }
        let password = values.password;
        if (password === undefined && !portalOnly) password = (await (io.stdin ?? readStdin)()).split(/\r?\n/)[0] ?? '';
        if (!portalOnly && (password === undefined || password.length === 0)) {
          io.stderr('empty password\n');
          return 2;
        }
        try {
          await users.add({
            name: name!,
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
          await new SqlitePortalAccountStore(db).setPassword(name!, await hashPassword(portalPassword), { admin: values.admin === true });
          io.stdout(`portal login for ${name}${values.admin ? ' (administrator)' : ''}${values['portal-password'] === undefined ? `, password ${portalPassword} (shown only now)` : ''}\n`);
        }
        return 0;
      }
      case 'remove': {
        if (!(await users.remove(name!))) {
          io.stderr(`no user "${name}"\n`);
          return 1;
        }
        io.stdout(`removed ${name}\n`);
        return 0;
      }
      case 'list': {
        const list = await users.list();
        const rows = list.map((u) => ({
          name: u.name,
          enabled: u.enabled,
          credentials: [u.ntHash ? 'nt' : '', u.passwordHash ? 'scrypt' : ''].filter(Boolean),
          created: u.created.toISOString(),
        }));
        if (values.json) io.stdout(JSON.stringify(rows, null, 2) + '\n');
        else for (const r of rows) io.stdout(`${r.name}\t${r.enabled ? 'enabled' : 'disabled'}\t${r.credentials.join(',')}\t${r.created}\n`);
        return 0;
      }
      default:
        io.stderr(USAGE);
        return 2;
    }
  } finally {
    db.close();
  }
}
