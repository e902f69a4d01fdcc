import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as brski } from '../../src/cli/commands/brski.js';
import { initDataDir } from '../../src/cli/init.js';
import { openSqlite } from '../../src/store/sqlite/database.js';
import { SqliteIssuedCertificateStore } from '../../src/store/sqlite/issued-certificates.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) } };
}

describe('gangway brski', () => {
  let dir: string;
  let data: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-brski-cli-'));
    data = join(dir, 'var');
    await initDataDir(data, { radiusPort: 0, portalPort: 0 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('approve, deny and list pledges; each decision is audited', async () => {
    let r = io();
    expect(await brski(['devices', '--data', data], r.io)).toBe(0);
    expect(r.out.join('')).toBe('no pledge recorded\n');
    r = io();
    expect(await brski(['approve', 'acme', 'SN-1', '--data', data, '--by', 'ops'], r.io)).toBe(0);
    expect(await brski(['deny', 'acme', 'SN-2', '--data', data, '--by', 'ops'], io().io)).toBe(0);
    r = io();
    expect(await brski(['devices', '--data', data, '--json'], r.io)).toBe(0);
    const list = JSON.parse(r.out.join('')) as { manufacturer: string; serialNumber: string; status: string; decidedBy: string }[];
    expect(list.map((d) => [d.serialNumber, d.status, d.decidedBy])).toEqual([['SN-1', 'approved', 'ops'], ['SN-2', 'denied', 'ops']]);
    r = io();
    expect(await brski(['devices', '--data', data, '--pending'], r.io)).toBe(0);
    expect(r.out.join('')).toBe('no pledge awaits approval\n');
    const db = openSqlite(join(data, 'gangway.db'));
    const events = db.prepare("SELECT event, subject FROM audit_log WHERE event LIKE 'brski.device.%' ORDER BY id").all();
    db.close();
    expect(events).toEqual([{ event: 'brski.device.approved', subject: 'acme:SN-1' }, { event: 'brski.device.denied', subject: 'acme:SN-2' }]);
  });

  test('certificates and revoke: an issued LDevID is listed, then revoked once', async () => {
    const db = openSqlite(join(data, 'gangway.db'));
    const store = new SqliteIssuedCertificateStore(db);
    const now = new Date();
    await store.record({ serial: '0a1b2c', issuer: 'CN=ca', subject: 'CN=acme:SN-1', subjectAltNames: [], deviceId: 'acme:SN-1', notBefore: now, notAfter: new Date(now.getTime() + 86_400_000), der: new Uint8Array([0x30, 0x00]), issuedAt: now });
    db.close();
    let r = io();
    expect(await brski(['certificates', '--data', data], r.io)).toBe(0);
    expect(r.out.join('')).toContain('0a1b2c\tacme:SN-1');
    r = io();
    expect(await brski(['revoke', '000A1B2C', '--data', data, '--reason', 'keyCompromise'], r.io)).toBe(0);
    expect(r.out.join('')).toBe('0a1b2c revoked (keyCompromise)\n');
    r = io();
    expect(await brski(['revoke', '0a1b2c', '--data', data], r.io)).toBe(1);
    r = io();
    expect(await brski(['certificates', '--data', data, '--json'], r.io)).toBe(0);
    expect(JSON.parse(r.out.join(''))[0]).toMatchObject({ serial: '0a1b2c', reason: 'keyCompromise' });
  });

  test('revoke: the LDevIDs re-enrolled with the revoked one\'s key are revoked too, each printed and audited', async () => {
    const db = openSqlite(join(data, 'gangway.db'));
    const store = new SqliteIssuedCertificateStore(db);
    const now = new Date();
    const rec = (serial: string, reissuedFrom?: string) => store.record({
      serial, issuer: 'CN=ca', subject: 'CN=acme:SN-5', subjectAltNames: [], deviceId: 'acme:SN-5', notBefore: now, notAfter: new Date(now.getTime() + 86_400_000),
      der: new Uint8Array([0x30, 0x00]), issuedAt: now, ...(reissuedFrom ? { reissuedFrom } : {}),
    });
    await rec('0b01');
    await rec('0b02', '0b01');
    await rec('0b03', '0b02');
    db.close();
    const r = io();
    expect(await brski(['revoke', '0b01', '--data', data, '--reason', 'keyCompromise', '--by', 'ops'], r.io)).toBe(0);
    expect(r.out.join('')).toBe("0b01 revoked (keyCompromise)\n0b02 revoked (keyCompromise): re-enrolled with 0b01's key\n0b03 revoked (keyCompromise): re-enrolled with 0b02's key\n");
    const check = openSqlite(join(data, 'gangway.db'));
    const audited = check.prepare("SELECT subject, detail FROM audit_log WHERE event = 'ca.ldevid.revoked' AND subject LIKE '0b0%' ORDER BY id").all() as { subject: string; detail: string }[];
    check.close();
    expect(audited.map((a) => [a.subject, JSON.parse(a.detail).reissuedFrom ?? null, JSON.parse(a.detail).by])).toEqual([['0b01', null, 'ops'], ['0b02', '0b01', 'ops'], ['0b03', '0b02', 'ops']]);
  });

  test('usage: --help 0, unknown subcommand or wrong arity 2, a directory without gangway.yaml refused and left alone', async () => {
    let r = io();
    expect(await brski(['--help'], r.io)).toBe(0);
    expect(r.out.join('')).toContain('gangway brski approve');
    expect(r.out.join('')).toMatch(/^usage: gangway brski/);
    r = io();
    expect(await brski(['frobnicate', '--data', data], r.io)).toBe(2);
    expect(r.err.join('')).toContain('unknown subcommand "frobnicate"');
    expect(await brski(['approve', 'acme', '--data', data], io().io)).toBe(2);
    expect(await brski(['revoke', 'xyz', '--data', data], io().io)).toBe(2);
    r = io();
    expect(await brski(['devices', '--data', join(dir, 'nothing')], r.io)).toBe(78);
    expect(r.err.join('')).toMatch(/no Gangway data directory at .*gangway init/);
  });
});
