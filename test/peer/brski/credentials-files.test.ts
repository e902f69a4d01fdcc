import { X509Certificate, createPrivateKey } from 'node:crypto';
// The module object itself (a namespace import would be a copy): the spies must reach what src/ calls.
import fs from 'node:fs';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialsError, loadPledgeCredentials, pledgeCredentials } from '../../../src/peer/brski/credentials.js';
import { LDEVID_FILES, LdevidDirectoryLockedError, lockLdevidDirectory, removeStrayTemporaryFiles, writeLdevid, writeRenewedLdevid } from '../../../src/peer/brski/ldevid-files.js';
import { spawn, spawnSync } from 'node:child_process';
import { nativeFileLockLoaded } from '../../helpers/file-lock.js';
import { hostname } from 'node:os';
import { loadLdevidCredentials } from '../../../src/peer/brski/reenroll.js';
import type { Enrollment } from '../../../src/peer/brski/pledge.js';
import { makeCert } from '../../teap-brski/brski/voucher/test-pki.js';
import { brskiPki } from './brski-world.js';

describe('pledge credentials (IDevID directory)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gangway-pledge-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('idevid.pem, idevid.key, manufacturer-ca.pem: serial-number from the subject', async () => {
    const pki = await brskiPki();
    writeFileSync(join(dir, 'idevid.pem'), pki.idevid.pem);
    writeFileSync(join(dir, 'idevid.key'), pki.idevid.keyPem);
    writeFileSync(join(dir, 'manufacturer-ca.pem'), pki.manufacturerCa.pem);
    const c = loadPledgeCredentials(dir);
    expect(c.serialNumber).toBe('JADA-0001');
    expect(c.intermediates).toEqual([]);
    expect(Buffer.from(c.manufacturerAnchors[0]!).equals(Buffer.from(pki.manufacturerCa.der))).toBe(true);
  });

  test('an intermediate CA in idevid.pem is kept for the TLS chain and the PVR', async () => {
    const pki = await brskiPki();
    const sub = await makeCert({ subject: 'CN=Manufacturer Sub CA', issuer: pki.manufacturerCa, ca: true });
    const idevid = await makeCert({ subject: 'CN=Pledge 2, 2.5.4.5=JADA-0009', issuer: sub });
    const c = pledgeCredentials(idevid.pem + sub.pem, idevid.keyPem, pki.manufacturerCa.pem);
    expect(c.intermediates).toHaveLength(1);
    expect(c.serialNumber).toBe('JADA-0009');
  });

  test('refused: key of another certificate, no serialNumber, another manufacturer, missing or garbled files', async () => {
    const pki = await brskiPki();
    const noSerial = await makeCert({ subject: 'CN=Nameless', issuer: pki.manufacturerCa });
    const cases: [() => unknown, RegExp][] = [
      [() => pledgeCredentials(pki.idevid.pem, pki.masa.keyPem, pki.manufacturerCa.pem), /does not belong/],
      [() => pledgeCredentials(noSerial.pem, noSerial.keyPem, pki.manufacturerCa.pem), /no serialNumber/],
      [() => pledgeCredentials(pki.idevid.pem, pki.idevid.keyPem, pki.domainCa.pem), /does not chain/],
      [() => pledgeCredentials('', pki.idevid.keyPem, pki.manufacturerCa.pem), /no certificate in the IDevID/],
      [() => pledgeCredentials(pki.idevid.pem, 'not a key', pki.manufacturerCa.pem), /IDevID key/],
      [() => pledgeCredentials('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', pki.idevid.keyPem, pki.manufacturerCa.pem), /IDevID file/],
      [() => loadPledgeCredentials(dir), /cannot read .*idevid\.pem/],
    ];
    for (const [f, why] of cases) {
      expect(f).toThrow(CredentialsError);
      expect(f).toThrow(why);
    }
  });
});

describe('LDevID files', () => {
  const real = { renameSync: fs.renameSync, openSync: fs.openSync, rmSync: fs.rmSync };
  /** The n-th rename from now throws without taking effect; everything else runs as usual. */
  const failRename = (n: number): void => {
    let renames = 0;
    jest.spyOn(fs, 'renameSync').mockImplementation((a, b) => {
      if (++renames === n) throw new Error('rename failed');
      real.renameSync(a, b);
    });
  };
  /** A stop (power loss) just after the n-th rename from now: it takes effect, then every rename, open or removal throws. */
  const stopAfterRename = (n: number): void => {
    let renames = 0;
    let stopped = false;
    const stop = (): never => {
      throw new Error('stopped');
    };
    jest.spyOn(fs, 'renameSync').mockImplementation((a, b) => {
      if (stopped) stop();
      real.renameSync(a, b);
      if (++renames === n) {
        stopped = true;
        stop();
      }
    });
    jest.spyOn(fs, 'openSync').mockImplementation(((...args: Parameters<typeof fs.openSync>) => (stopped ? stop() : real.openSync(...args))) as typeof fs.openSync);
    jest.spyOn(fs, 'rmSync').mockImplementation(((...args: Parameters<typeof fs.rmSync>) => (stopped ? stop() : real.rmSync(...args))) as typeof fs.rmSync);
  };
  test('ldevid.pem (LDevID + intermediates), ldevid.key mode 0600, ca.pem; rewriting replaces them', async () => {
    const pki = await brskiPki();
    const dir = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
    try {
      const ldevid = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const e: Enrollment = {
        ldevid: ldevid.der,
        intermediates: [],
        privateKey: ldevid.key,
        trustAnchors: [pki.domainCa.der],
        voucher: { serialNumber: 'JADA-0001', pin: 'cert', der: new Uint8Array(0) },
      };
      const out = join(dir, 'nested', 'out');
      const files = writeLdevid(out, e);
      expect(statSync(files.key).mode & 0o777).toBe(0o600);
      expect(statSync(out).mode & 0o077).toBe(0);
      expect(new X509Certificate(readFileSync(files.certificate)).checkPrivateKey(ldevid.key)).toBe(true);
      expect(new X509Certificate(readFileSync(files.trustAnchors)).fingerprint256).toBe(new X509Certificate(pki.domainCa.der).fingerprint256);
      writeLdevid(out, { ...e, intermediates: [pki.domainCa.der] });
      expect(readFileSync(files.certificate, 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      expect(statSync(files.key).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a renewal replaces the LDevID and key, keeps ca.pem, and leaves no previous key behind', async () => {
    const pki = await brskiPki();
    const dir = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
    try {
      const first = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const second = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      writeLdevid(dir, { ldevid: first.der, intermediates: [], privateKey: first.key, trustAnchors: [pki.domainCa.der], voucher: { serialNumber: 'JADA-0001', pin: 'cert', der: new Uint8Array(0) } });
      const files = writeRenewedLdevid(dir, { ldevid: second.der, intermediates: [], privateKey: second.key, trustAnchors: [pki.domainCa.der] });
      expect(statSync(files.key).mode & 0o777).toBe(0o600);
      const loaded = loadLdevidCredentials(dir);
      expect(Buffer.from(loaded.ldevid).equals(Buffer.from(second.der))).toBe(true);
      expect(loaded.privateKey.equals(second.key)).toBe(true);
      expect(() => statSync(join(dir, LDEVID_FILES.previousKey))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Each point a renewal can stop at (power loss: nothing after it runs), and a failure at each rename.
  // Without the kept key, a device stopped after the key's rename had a new key beside its old
  // certificate and could not authenticate any more.
  test('a renewal stopped after any of its renames, or failing at any: the next load finds a matching pair (old or new), repaired, no kept key left', async () => {
    const pki = await brskiPki();
    const first = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
    const second = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
    // writeRenewedLdevid renames four times: ca.pem, ldevid.key.prev, ldevid.key, ldevid.pem.
    for (const mode of ['stop', 'fail'] as const) {
      for (let n = 1; n <= 4; n++) {
        const dir = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
        try {
          writeLdevid(dir, { ldevid: first.der, intermediates: [], privateKey: first.key, trustAnchors: [pki.domainCa.der], voucher: { serialNumber: 'JADA-0001', pin: 'cert', der: new Uint8Array(0) } });
          if (mode === 'stop') stopAfterRename(n);
          else failRename(n);
          expect(() => writeRenewedLdevid(dir, { ldevid: second.der, intermediates: [], privateKey: second.key, trustAnchors: [pki.domainCa.der] })).toThrow();
          jest.restoreAllMocks();

          const loaded = loadLdevidCredentials(dir);
          const which = Buffer.from(loaded.ldevid).equals(Buffer.from(first.der)) ? 'old' : 'new';
          // Only a stop after the certificate's rename leaves the new pair; everything else the old one.
          expect({ mode, n, which }).toEqual({ mode, n, which: mode === 'stop' && n === 4 ? 'new' : 'old' });
          expect(loaded.privateKey.equals(which === 'old' ? first.key : second.key)).toBe(true);
          expect(new X509Certificate(readFileSync(join(dir, 'ldevid.pem'))).checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'ldevid.key'))))).toBe(true);
          expect(existsSync(join(dir, LDEVID_FILES.previousKey))).toBe(false);
          if (mode === 'stop' && n === 3) expect(loaded.repaired).toBe('restored-previous-key');
          if (mode === 'stop' && n === 4) expect(loaded.repaired).toBe('removed-stale-previous-key');
          if (mode === 'fail') expect(loaded.repaired).toBeUndefined();
          expect(statSync(join(dir, 'ldevid.key')).mode & 0o777).toBe(0o600);
        } finally {
          jest.restoreAllMocks();
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  });

  test('into another directory (--out): its own pair is the one kept and restored, never the source\'s key; with no pair there, nothing is kept', async () => {
    const pki = await brskiPki();
    const root = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
    try {
      const mine = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const renewed = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const out = join(root, 'out');
      writeLdevid(out, { ldevid: mine.der, intermediates: [], privateKey: mine.key, trustAnchors: [pki.domainCa.der], voucher: { serialNumber: 'JADA-0001', pin: 'cert', der: new Uint8Array(0) } });
      // The certificate's rename fails (the fourth: ca.pem, ldevid.key.prev, ldevid.key, ldevid.pem).
      failRename(4);
      expect(() => writeRenewedLdevid(out, { ldevid: renewed.der, intermediates: [], privateKey: renewed.key, trustAnchors: [pki.domainCa.der] })).toThrow('rename failed');
      jest.restoreAllMocks();
      const back = loadLdevidCredentials(out);
      expect(Buffer.from(back.ldevid).equals(Buffer.from(mine.der))).toBe(true);
      expect(back.privateKey.equals(mine.key)).toBe(true);

      // An empty directory: no pair to keep, no kept key left by a stop between the renames.
      const empty = join(root, 'empty');
      stopAfterRename(2);
      expect(() => writeRenewedLdevid(empty, { ldevid: renewed.der, intermediates: [], privateKey: renewed.key, trustAnchors: [pki.domainCa.der] })).toThrow('stopped');
      jest.restoreAllMocks();
      expect(existsSync(join(empty, LDEVID_FILES.previousKey))).toBe(false);
      expect(existsSync(join(empty, LDEVID_FILES.certificate))).toBe(false);
    } finally {
      jest.restoreAllMocks();
      rmSync(root, { recursive: true, force: true });
    }
  });

  const flock = nativeFileLockLoaded() ? test : test.skip;

  flock('the directory lock (flock): refused while another open of it holds it, in this process or another; free again at release or when the holder is killed, whatever the file holds; stray key copies go', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
    const lockPath = join(dir, LDEVID_FILES.lock);
    const lib = join(__dirname, '../../../dist/peer/brski/ldevid-files.js');
    try {
      const { release, unlocked } = lockLdevidDirectory(dir);
      expect(unlocked).toBeUndefined();
      expect(readFileSync(lockPath, 'utf8')).toBe(`pid ${process.pid} on ${hostname()}\n`);
      // Ourselves again (one directory spelt twice): held.
      expect(() => lockLdevidDirectory(dir)).toThrow(new LdevidDirectoryLockedError(dir, `pid ${process.pid} on ${hostname()}`));
      release();
      expect(readFileSync(lockPath, 'utf8')).toBe('');
      // Whatever an earlier run left in the file: free.
      writeFileSync(lockPath, 'pid 1 on elsewhere\n');
      lockLdevidDirectory(dir).release();

      // Another process holding it, then killed with SIGKILL: free at once, nothing to take over.
      const holder = spawn(process.execPath, ['--input-type=module', '-e', `
        const { lockLdevidDirectory } = await import(${JSON.stringify(lib)});
        lockLdevidDirectory(process.argv[1]);
        process.stdout.write('held\\n');
        setInterval(() => {}, 1000);`, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`the holder exited (${code}) before it held the lock`)));
      });
      expect(() => lockLdevidDirectory(dir)).toThrow(`is in use by another process (pid ${holder.pid} on ${hostname()})`);
      holder.kill('SIGKILL');
      await new Promise<void>((resolve) => holder.once('exit', () => resolve()));
      lockLdevidDirectory(dir).release();

      // Never through a symbolic link (the file is truncated once locked).
      rmSync(lockPath);
      writeFileSync(join(dir, 'precious'), 'keep me');
      fs.symlinkSync(join(dir, 'precious'), lockPath);
      expect(() => lockLdevidDirectory(dir)).toThrow(/ELOOP/);
      expect(readFileSync(join(dir, 'precious'), 'utf8')).toBe('keep me');
      rmSync(lockPath);

      writeFileSync(join(dir, '.ldevid.key.123.0a1b2c3d.tmp'), 'a key copy', { mode: 0o600 });
      writeFileSync(join(dir, '.ldevid.key.prev.123.0a1b2c3d.tmp'), 'a key copy', { mode: 0o600 });
      writeFileSync(join(dir, 'notes.tmp'), 'not ours');
      removeStrayTemporaryFiles(dir);
      expect(fs.readdirSync(dir).sort()).toEqual(['notes.tmp', 'precious']);
      // A directory that cannot be made: the lock says so before anything else happens.
      expect(() => lockLdevidDirectory('/dev/null/ldevid')).toThrow(/ENOTDIR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('without the native addon: no lock, and the reason said (a lock file that outlived every crash would be worse)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
    const saved = process.env['GANGWAY_NATIVE_FILE_LOCK'];
    process.env['GANGWAY_NATIVE_FILE_LOCK'] = '0';
    try {
      const first = lockLdevidDirectory(dir);
      const second = lockLdevidDirectory(dir);
      expect(first.unlocked).toMatch(/native addon is not loaded/);
      expect(second.unlocked).toMatch(/native addon is not loaded/);
      first.release();
      second.release();
    } finally {
      if (saved === undefined) delete process.env['GANGWAY_NATIVE_FILE_LOCK'];
      else process.env['GANGWAY_NATIVE_FILE_LOCK'] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // FAILS at c4ea5e6 (and at d18f7f1 with a guard's timing forced, a reviewer showed): a lock judged
  // stale by its content could be taken by two runs at once.
  flock('twelve processes racing for one directory, fresh and over a stale lock: never two holders at once', async () => {
    const lib = join(__dirname, '../../../dist/peer/brski/ldevid-files.js');
    const root = mkdtempSync(join(tmpdir(), 'gangway-ldevid-race-'));
    try {
      const racer = `
        const { lockLdevidDirectory } = await import(${JSON.stringify(lib)});
        const { appendFileSync } = await import('node:fs');
        const [dir, log, at] = process.argv.slice(1);
        while (Date.now() < Number(at)) {}
        try {
          const { release } = lockLdevidDirectory(dir);
          appendFileSync(log, 'in ' + process.pid + '\\n');
          const until = Date.now() + 150;
          while (Date.now() < until) {}
          appendFileSync(log, 'out ' + process.pid + '\\n');
          release();
        } catch (err) {
          appendFileSync(log, (err.name === 'LdevidDirectoryLockedError' ? 'refused ' : 'error ' + err.message + ' ') + process.pid + '\\n');
        }`;
      for (const start of ['fresh', 'stale']) {
        for (let trial = 0; trial < 3; trial++) {
          const dir = join(root, `${start}-${trial}`);
          fs.mkdirSync(dir);
          if (start === 'stale') writeFileSync(join(dir, LDEVID_FILES.lock), 'pid 999999999 on elsewhere\n');
          const log = join(dir, 'log');
          writeFileSync(log, '');
          const at = Date.now() + 1500;
          await Promise.all(Array.from({ length: 12 }, () => new Promise<void>((done) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', racer, dir, log, String(at)], { stdio: 'ignore' });
            child.on('exit', () => done());
          })));
          const lines = readFileSync(log, 'utf8').trim().split('\n');
          let inside = 0;
          let most = 0;
          for (const l of lines) {
            if (l.startsWith('in ')) most = Math.max(most, ++inside);
            if (l.startsWith('out ')) inside--;
          }
          expect({ start, trial, most, errors: lines.filter((l) => l.startsWith('error')) }).toEqual({ start, trial, most: 1, errors: [] });
          expect(lines.filter((l) => l.startsWith('in ')).length).toBeGreaterThanOrEqual(1);
          // Every racer ended and said how.
          expect(lines).toHaveLength(12 + lines.filter((l) => l.startsWith('in ')).length);
          expect(readFileSync(join(dir, LDEVID_FILES.lock), 'utf8')).toBe('');
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('an enrolment written over a directory whose renewal was stopped keeps the old certificate\'s key until its own pair is in place; a stop before ca.pem leaves no key', async () => {
    const pki = await brskiPki();
    const dir = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
    try {
      const first = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const orphan = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const again = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const enrolment = (c: typeof first) => ({ ldevid: c.der, intermediates: [], privateKey: c.key, trustAnchors: [pki.domainCa.der], voucher: { serialNumber: 'JADA-0001', pin: 'cert' as const, der: new Uint8Array(0) } });
      writeLdevid(dir, enrolment(first));
      // What a renewal stopped after the new key's rename leaves.
      writeFileSync(join(dir, LDEVID_FILES.previousKey), first.keyPem, { mode: 0o600 });
      writeFileSync(join(dir, 'ldevid.key'), orphan.keyPem, { mode: 0o600 });
      // writeLdevid: ca.pem, voucher.vcj, ldevid.key (the repair), ldevid.key.prev, ldevid.key, ldevid.pem; the certificate's fails.
      failRename(6);
      expect(() => writeLdevid(dir, enrolment(again))).toThrow('rename failed');
      jest.restoreAllMocks();
      const back = loadLdevidCredentials(dir);
      expect(Buffer.from(back.ldevid).equals(Buffer.from(first.der))).toBe(true);
      expect(back.privateKey.equals(first.key)).toBe(true);

      // A fresh directory stopped after the first rename: the anchors, and no key without its certificate.
      const fresh = join(dir, 'fresh');
      stopAfterRename(1);
      expect(() => writeLdevid(fresh, enrolment(again))).toThrow('stopped');
      jest.restoreAllMocks();
      expect(fs.readdirSync(fresh).filter((f) => !f.endsWith('.tmp'))).toEqual(['ca.pem']);

      // A directory whose key and certificate do not belong together keeps no key while it is replaced.
      const odd = join(dir, 'odd');
      writeLdevid(odd, enrolment(first));
      writeFileSync(join(odd, 'ldevid.key'), orphan.keyPem, { mode: 0o600 });
      writeFileSync(join(odd, LDEVID_FILES.previousKey), 'left from long ago', { mode: 0o600 });
      writeRenewedLdevid(odd, { ldevid: again.der, intermediates: [], privateKey: again.key, trustAnchors: [pki.domainCa.der] });
      expect(existsSync(join(odd, LDEVID_FILES.previousKey))).toBe(false);
      writeFileSync(join(odd, 'ldevid.key'), orphan.keyPem, { mode: 0o600 });
      stopAfterRename(2);
      expect(() => writeRenewedLdevid(odd, { ldevid: first.der, intermediates: [], privateKey: first.key, trustAnchors: [pki.domainCa.der] })).toThrow('stopped');
      jest.restoreAllMocks();
      expect(existsSync(join(odd, LDEVID_FILES.previousKey))).toBe(false);
    } finally {
      jest.restoreAllMocks();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refused with CredentialsError: a key of another certificate with no kept key that fits, a garbled certificate', async () => {
    const pki = await brskiPki();
    const dir = mkdtempSync(join(tmpdir(), 'gangway-ldevid-'));
    try {
      const first = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      const other = await makeCert({ subject: 'CN=acme:JADA-0001', issuer: pki.domainCa });
      writeLdevid(dir, { ldevid: first.der, intermediates: [], privateKey: first.key, trustAnchors: [pki.domainCa.der], voucher: { serialNumber: 'JADA-0001', pin: 'cert', der: new Uint8Array(0) } });
      writeFileSync(join(dir, 'ldevid.key'), other.keyPem, { mode: 0o600 });
      expect(() => loadLdevidCredentials(dir)).toThrow(/does not belong to the LDevID/);
      writeFileSync(join(dir, LDEVID_FILES.previousKey), 'not a key', { mode: 0o600 });
      expect(() => loadLdevidCredentials(dir)).toThrow(/does not belong to the LDevID/);
      expect(existsSync(join(dir, LDEVID_FILES.previousKey))).toBe(true);
      writeFileSync(join(dir, 'ldevid.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
      expect(() => loadLdevidCredentials(dir)).toThrow(CredentialsError);
      expect(() => loadLdevidCredentials(dir)).toThrow(/ldevid\.pem: not a certificate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
